package check

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
)

var sample = []Result{
	{Name: "h1 reaches h2", Kind: "reach", Node: "h1", OK: true, Seconds: 0.25, Detail: "reply from 10.0.2.3", Attempts: 1},
	{Name: "r1 has a route to 10.9.0.0/16", Kind: "route", Node: "r1", OK: false, Seconds: 5, Detail: `no route to 10.9.0.0/16 <in> "main" & more`, Attempts: 9},
}

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sample); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "r1 has a route to 10.9.0.0/16", "kind": "route", "node": "r1", "ok": false,
		"seconds": 5.0, "detail": `no route to 10.9.0.0/16 <in> "main" & more`, "attempts": 9.0}
	if len(got) != 2 || !reflect.DeepEqual(got[1], want) {
		t.Fatalf("json = %s", buf.String())
	}
	buf.Reset()
	_ = WriteJSON(&buf, nil)
	if strings.TrimSpace(buf.String()) != "[]" {
		t.Fatalf("no results: %q, want []", buf.String())
	}
}

func TestWriteJUnitParses(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, "lab1", sample); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Cases    []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
				Time      string `xml:"time,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if len(doc.Suites) != 1 || doc.Suites[0].Name != "leolab check lab1" || doc.Suites[0].Tests != 2 || doc.Suites[0].Failures != 1 {
		t.Fatalf("suite: %+v", doc.Suites)
	}
	cases := doc.Suites[0].Cases
	if cases[0].Failure != nil || cases[0].Classname != "lab1.reach" || cases[0].Time != "0.250" {
		t.Fatalf("passing case: %+v", cases[0])
	}
	if f := cases[1].Failure; f == nil || f.Message != sample[1].Detail || f.Text != sample[1].Detail {
		t.Fatalf("failing case: %+v", cases[1])
	}
}

func TestWriteTable(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, sample); err != nil {
		t.Fatal(err)
	}
	want := "PASS  0.2s  h1 reaches h2\n" +
		"FAIL  5.0s  r1 has a route to 10.9.0.0/16: " + sample[1].Detail + "\n" +
		"1 passed, 1 failed\n"
	if buf.String() != want {
		t.Fatalf("table:\n%s\nwant:\n%s", buf.String(), want)
	}
}
