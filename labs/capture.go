package labs

import (
	"fmt"
	"strings"

	"leolab/capture"
	"leolab/internal/hostnames"
)

// CaptureEndpoint resolves NODE:IFACE (NODE may be LAB/NODE; lab, when
// set, picks the lab) of a running lab to what capture.Run reads: the
// node's namespace and device, named NODE:IFACE.
func (m *Manager) CaptureEndpoint(lab, target string) (capture.Endpoint, error) {
	r, err := m.resolveIface(lab, target)
	if err != nil {
		return capture.Endpoint{}, err
	}
	return capture.Endpoint{Name: r.node.Name + ":" + r.ifc.Name, Netns: r.nodeNS, Dev: r.ifc.Name}, nil
}

// CaptureBridge resolves lab bridge NAME (or LAB/NAME) to its device: on
// the host, or in the lab's own namespace for an isolated lab. A bare name
// must be unambiguous among running labs.
func (m *Manager) CaptureBridge(lab, name string) (capture.Endpoint, error) {
	if l, b, ok := strings.Cut(name, "/"); ok {
		lab, name = l, b
	}
	states, err := m.states("")
	if err != nil {
		return capture.Endpoint{}, err
	}
	var found []capture.Endpoint
	var labsWith []string
	for _, st := range states {
		if lab != "" && st.Plan.Name != lab {
			continue
		}
		for _, b := range st.Plan.Bridges {
			if b.Name != name {
				continue
			}
			ep := capture.Endpoint{Name: "bridge:" + b.Name, Dev: b.Device}
			if st.Plan.LabNetns != "" {
				ep.Netns = hostnames.NetnsPath(st.Plan.LabNetns)
			}
			found = append(found, ep)
			labsWith = append(labsWith, st.Plan.Name)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return capture.Endpoint{}, fmt.Errorf("bridge %s is in several labs (%s): use --lab or LAB/%s", name, strings.Join(labsWith, ", "), name)
	case lab != "":
		return capture.Endpoint{}, fmt.Errorf("no bridge %s in lab %s", name, lab)
	}
	return capture.Endpoint{}, fmt.Errorf("no bridge %s in any running lab", name)
}
