package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"leolab/capture"
	"leolab/labs"
)

type captureFlags struct {
	lab      string
	file     string
	count    int
	duration time.Duration
	snaplen  int
	bridges  []string
	bufferMB int
}

func newCaptureCmd(g *globals) *cobra.Command {
	var f captureFlags
	c := &cobra.Command{
		Use:   "capture [--lab L] NODE:IFACE [NODE:IFACE…] [-w FILE] [-c COUNT] [--duration DUR] [--snaplen N] [--bridge NAME] [-B MIB]",
		Short: "Capture packets on node interfaces or lab bridges into one pcapng stream",
		Long: `Capture packets inside each node's network namespace (AF_PACKET with a
TPACKET_V3 ring; nothing is needed inside the nodes) and write one pcapng stream:
one interface per endpoint, named NODE:IFACE (Wireshark and tcpdump show it),
the packets of all endpoints interleaved in time order. --bridge NAME captures
a lab bridge on the host side (in the lab's own namespace for an isolated lab);
it may be given several times, and LAB/NAME picks the lab.

The stream goes to stdout when it is not a terminal, or to FILE with -w. The
capture stops after COUNT packets, after DUR, on SIGINT (Ctrl-C) or when every
endpoint has gone away, always leaving a complete, valid file. A node destroyed
mid-capture ends its endpoint with a message. At the end each endpoint's counters
(packets captured, and packets the kernel dropped because the ring was full) go
to stderr and into the file's interface statistics blocks.`,
		Example: `  leolab capture r1:eth1 | tcpdump -n -r -
  leolab capture r1:eth1 | wireshark -k -i -
  leolab capture h1:eth0 r1:eth1 -w ping.pcapng -c 20
  leolab capture --bridge lan --duration 30s -w lan.pcapng`,
		PreRunE: func(c *cobra.Command, args []string) error {
			if err := f.check(args); err != nil {
				return usageError{err}
			}
			return requireRoot(c, args)
		},
		RunE: func(c *cobra.Command, args []string) error {
			return runCapture(c, g, f, args)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.lab, "lab", "", "lab of the nodes and bridges")
	fl.StringVarP(&f.file, "write", "w", "", "write to FILE (default: stdout, which must not be a terminal)")
	fl.IntVarP(&f.count, "count", "c", 0, "stop after COUNT packets in all")
	fl.DurationVar(&f.duration, "duration", 0, "stop after DUR, e.g. 30s")
	fl.IntVar(&f.snaplen, "snaplen", capture.DefaultSnaplen, "bytes kept of each packet")
	fl.IntVarP(&f.bufferMB, "buffer-size", "B", 32, "kernel ring per endpoint, in MiB (more absorbs longer stalls)")
	fl.StringArrayVar(&f.bridges, "bridge", nil, "capture lab bridge NAME (host side); repeatable")
	return c
}

func (f captureFlags) check(args []string) error {
	switch {
	case len(args) == 0 && len(f.bridges) == 0:
		return errors.New("capture needs NODE:IFACE or --bridge NAME")
	case f.count < 0:
		return fmt.Errorf("-c %d: want a positive count", f.count)
	case f.duration < 0:
		return fmt.Errorf("--duration %s: want a positive duration", f.duration)
	case f.snaplen < 1 || f.snaplen > capture.DefaultSnaplen:
		return fmt.Errorf("--snaplen %d: want 1..%d", f.snaplen, capture.DefaultSnaplen)
	case f.bufferMB < 1 || f.bufferMB > 1024:
		return fmt.Errorf("--buffer-size %d: want 1..1024 (MiB)", f.bufferMB)
	case (f.file == "" || f.file == "-") && term.IsTerminal(int(os.Stdout.Fd())):
		return errors.New("capture: stdout is a terminal: write to a file with -w FILE, or pipe into a reader (leolab capture r1:eth1 | tcpdump -n -r -)")
	}
	return nil
}

func runCapture(c *cobra.Command, g *globals, f captureFlags, args []string) error {
	eps, err := captureEndpoints(g.manager(c), f, args)
	if err != nil {
		return usageError{err}
	}
	var w io.Writer = c.OutOrStdout()
	if f.file != "" && f.file != "-" {
		// -w replaces FILE, as tcpdump -w does.
		out, err := os.OpenFile(f.file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		defer out.Close()
		w = out
	}
	stderr := c.ErrOrStderr()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := capture.Run(ctx, eps, w, capture.Options{
		Count: f.count, Duration: f.duration, Snaplen: f.snaplen, RingBlocks: f.bufferMB,
		Notify: func(msg string) { fmt.Fprintln(stderr, msg) },
		Started: func() {
			if !g.quiet {
				fmt.Fprintf(stderr, "capturing on %s (Ctrl-C to stop)\n", endpointNames(eps))
			}
		},
	})
	printCaptureStats(stderr, st, g.quiet)
	return err
}

func captureEndpoints(m *labs.Manager, f captureFlags, args []string) ([]capture.Endpoint, error) {
	var eps []capture.Endpoint
	for _, a := range args {
		ep, err := m.CaptureEndpoint(f.lab, a)
		if err != nil {
			return nil, fmt.Errorf("capture %s: %w", a, err)
		}
		eps = append(eps, ep)
	}
	for _, b := range f.bridges {
		ep, err := m.CaptureBridge(f.lab, b)
		if err != nil {
			return nil, fmt.Errorf("capture --bridge %s: %w", b, err)
		}
		eps = append(eps, ep)
	}
	seen := map[string]bool{}
	for _, ep := range eps {
		if seen[ep.Name] {
			return nil, fmt.Errorf("capture: %s given twice", ep.Name)
		}
		seen[ep.Name] = true
	}
	return eps, nil
}

func endpointNames(eps []capture.Endpoint) string {
	names := make([]string, len(eps))
	for i, ep := range eps {
		names[i] = ep.Name
	}
	return strings.Join(names, ", ")
}

// printCaptureStats reports each endpoint's counters; drops are printed
// even with -q, never silently lost.
func printCaptureStats(w io.Writer, st capture.Stats, quiet bool) {
	for _, e := range st.Endpoints {
		if quiet && e.Dropped == 0 {
			continue
		}
		fmt.Fprintf(w, "%s: %d packets captured, %d dropped by the kernel\n", e.Name, e.Captured, e.Dropped)
	}
}
