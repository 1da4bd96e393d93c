package topology

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse. It must never panic or hang;
// it returns either Errors with positions or a plan whose invariants hold,
// and the same input always gives the same result. The seed corpus in
// testdata/fuzz/FuzzParse runs with every `go test`.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("testdata/spec/routing.yaml"); err == nil {
		f.Add(data)
	}
	for _, tc := range validationCases[:10] {
		f.Add([]byte(tc.src))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Relative paths resolve from testdata/spec, where the example's exist.
		p, err := Parse("testdata/spec/fuzz.yaml", data, Options{})
		if err != nil {
			checkErrors(t, err)
			return
		}
		checkPlan(t, p)
		again, err := Parse("testdata/spec/fuzz.yaml", data, Options{})
		if err != nil || !reflect.DeepEqual(p, again) {
			t.Fatalf("second parse differs: %v", err)
		}
	})
}

func checkErrors(t *testing.T, err error) {
	var errs Errors
	if !errors.As(err, &errs) || len(errs) == 0 {
		t.Fatalf("error %T %v is not Errors", err, err)
	}
	for i, e := range errs {
		if e.Line < 0 || e.Col < 0 || e.Msg == "" || strings.Contains(e.Msg, "\n") {
			t.Fatalf("bad error %#v", e)
		}
		if i > 0 && (errs[i-1].Line > e.Line || errs[i-1].Line == e.Line && errs[i-1].Col > e.Col) {
			t.Fatalf("errors not sorted: %v", errs)
		}
	}
}

func checkPlan(t *testing.T, p *Plan) {
	devices := map[string]bool{}
	unique := func(name string) {
		if len(name) == 0 || len(name) > 15 || devices[name] {
			t.Fatalf("device name %q empty, too long or reused", name)
		}
		devices[name] = true
	}
	subnets := map[string]Bridge{}
	for _, b := range p.Bridges {
		unique(b.Device)
		if !b.Subnet.IsValid() || (b.Gateway.IsValid() && !b.Subnet.Contains(b.Gateway)) {
			t.Fatalf("bridge %+v", b)
		}
		subnets[b.Name] = b
	}
	for i, a := range p.Bridges {
		for _, b := range p.Bridges[i+1:] {
			if a.Subnet.Overlaps(b.Subnet) {
				t.Fatalf("bridges %s and %s overlap", a.Subnet, b.Subnet)
			}
		}
	}
	addrs := map[string]bool{}
	for _, n := range p.Nodes {
		for _, ifc := range n.Interfaces {
			unique(ifc.HostDevice)
			if ifc.MTU < 68 || ifc.MTU > 65535 {
				t.Fatalf("mtu %d", ifc.MTU)
			}
			if !ifc.IPv4.IsValid() {
				continue
			}
			if addrs[ifc.IPv4.Addr().String()] {
				t.Fatalf("address %s used twice", ifc.IPv4)
			}
			addrs[ifc.IPv4.Addr().String()] = true
			if b, ok := subnets[ifc.Bridge]; ok && (!b.Subnet.Contains(ifc.IPv4.Addr()) || ifc.IPv4.Addr() == b.Gateway) {
				t.Fatalf("%s:%s address %s not usable in %s", n.Name, ifc.Name, ifc.IPv4, b.Subnet)
			}
		}
	}
}
