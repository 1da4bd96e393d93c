package check

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable prints one line per check (PASS or FAIL, the seconds it took
// to pass or until it was given up, its name and, for a failure, what was
// found) and a summary line.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	failed := 0
	for _, r := range results {
		mark, detail := "PASS", ""
		if !r.OK {
			mark, detail = "FAIL", ": "+r.Detail
			failed++
		}
		fmt.Fprintf(tw, "%s\t%.1fs\t%s%s\n", mark, r.Seconds, r.Name, detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d passed, %d failed\n", len(results)-failed, failed)
	return err
}

// WriteJSON prints the results as a JSON list of
// {name, kind, node, ok, seconds, detail, attempts}.
func WriteJSON(w io.Writer, results []Result) error {
	if results == nil {
		results = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(results)
}

// JUnit XML, as CI systems and grading scripts read it: one testsuite for
// the lab, one testcase per check, a failure element with the detail.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit prints the results as JUnit XML: suite "leolab check LAB",
// each check a testcase of class "LAB.KIND" named after the check.
func WriteJUnit(w io.Writer, lab string, results []Result) error {
	s := junitSuite{Name: "leolab check " + lab, Tests: len(results)}
	longest := 0.0
	for _, r := range results {
		c := junitCase{Name: r.Name, Classname: lab + "." + r.Kind, Time: fmt.Sprintf("%.3f", r.Seconds)}
		if r.OK {
			c.SystemOut = r.Detail
		} else {
			s.Failures++
			c.Failure = &junitFailure{Message: r.Detail, Type: r.Kind, Text: r.Detail}
		}
		longest = max(longest, r.Seconds)
		s.Cases = append(s.Cases, c)
	}
	s.Time = fmt.Sprintf("%.3f", longest) // checks run concurrently
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
