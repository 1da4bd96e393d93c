package labs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vishvananda/netlink"

	"leolab/internal/atomicfile"
	"leolab/internal/hostnames"
	"leolab/internal/nldump"
)

// Host-wide claims. Every leolab root on a host shares one kernel: one set
// of network namespace names, device names, routes and host ids. So every
// lab, whatever its --root, records what it is about to put on the host in
// a claim under hostRunDir before it creates anything, and every deploy
// plans against all claims under one host-wide lock. A lab being created
// right now (its bridges not up yet, so no host route shows its subnets)
// is then seen by a deploy under another root, and no two labs can register
// the same name (reliability round 2, items 2 and 7).
//
// hostRunDir lives on /run (tmpfs): claims die with the boot, like the
// kernel objects they describe. It disappears when the last lab goes.
var hostRunDir = hostnames.HostRunDir

func claimsDir() string         { return hostnames.ClaimsDir(hostRunDir) }
func hostLockPath() string      { return hostnames.HostLockPath(hostRunDir) }
func savedForwardPath() string  { return hostnames.SavedForwardPath(hostRunDir) }
func savedForward6Path() string { return hostnames.SavedForward6Path(hostRunDir) }

// Claim is one lab's reservation of host-visible names and numbers.
type Claim struct {
	Root     string         `json:"root"` // absolute leolab root of the lab
	Lab      string         `json:"lab"`
	Netns    []string       `json:"netns"`             // /run/netns names
	Devices  []string       `json:"devices,omitempty"` // host-side link names (not for isolated labs)
	Subnets  []netip.Prefix `json:"subnets,omitempty"` // on the host (not for isolated labs)
	UIDStart uint32         `json:"uid_start,omitempty"`
	UIDCount int            `json:"uid_count,omitempty"`
	NAT      bool           `json:"nat,omitempty"`
	NAT6     bool           `json:"nat6,omitempty"`
	// HostNetns is the network namespace Devices and Subnets are in.
	HostNetns string `json:"host_netns,omitempty"`
}

// claimFile is the claim's path: the lab name plus a digest of its root, so
// labs of one name under two roots have two claims (and collide on names).
func claimFile(root, lab string) string {
	return hostnames.ClaimPath(hostRunDir, root, lab)
}

// claimOf lists what st's lab will register on the host.
func claimOf(root string, st *State) *Claim {
	p := st.Plan
	c := &Claim{Root: root, Lab: p.Name, UIDStart: p.UIDs.Start, UIDCount: p.UIDs.Count, HostNetns: hostNetns()}
	for _, n := range p.Nodes {
		c.Netns = append(c.Netns, hostnames.NodeNetns(p.Name, n.Name))
	}
	if p.LabNetns != "" {
		c.Netns = append(c.Netns, p.LabNetns)
		return c
	}
	for _, b := range p.Bridges {
		c.Devices = append(c.Devices, b.Device)
		if b.VXLAN != nil && len(b.VXLAN.Remotes) > 0 {
			c.Devices = append(c.Devices, b.VXLAN.Device)
		}
	}
	for _, n := range p.Nodes {
		for _, ifc := range n.Interfaces {
			c.Devices = append(c.Devices, ifc.HostDevice)
		}
	}
	c.Subnets = p.Subnets()
	c.NAT, c.NAT6 = p.NAT, p.NAT6 // forwarding stays on while this lab may need it
	return c
}

// absRoot is the manager's root as an absolute path, the form claims hold.
func (m *Manager) absRoot() string {
	abs, err := filepath.Abs(m.Root)
	if err != nil {
		return m.Root
	}
	return abs
}

// writeClaim records st's claim. Callers hold the host lock.
func (m *Manager) writeClaim(st *State) error {
	if err := os.MkdirAll(claimsDir(), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", claimsDir(), err)
	}
	data, err := json.Marshal(claimOf(m.absRoot(), st))
	if err != nil {
		return fmt.Errorf("encode claim of lab %s: %w", st.Plan.Name, err)
	}
	return atomicfile.Write(claimFile(m.absRoot(), st.Plan.Name), data)
}

// dropClaim removes lab's claim, taking the host lock; the lock's release
// removes the host directory once no claim is left.
func (m *Manager) dropClaim(lab string) error {
	lock, err := m.lockClaimsAndForwarding()
	if err != nil {
		return err
	}
	defer lock.unlock(false)
	if err := os.Remove(claimFile(m.absRoot(), lab)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove claim of lab %s: %w", lab, err)
	}
	return nil
}

// liveClaims reads every claim on the host except lab's own under this
// root. A claim whose lab has no state file any more (its root was deleted
// by hand) holds nothing and is removed. Callers hold the host lock.
func (m *Manager) liveClaims(lab string) ([]*Claim, error) {
	entries, err := os.ReadDir(claimsDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read claims: %w", err)
	}
	own := claimFile(m.absRoot(), lab)
	var out []*Claim
	for _, e := range entries {
		path := filepath.Join(claimsDir(), e.Name())
		if path == own || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		c, err := readClaim(path)
		if err != nil {
			continue // being written (temp name) or garbage: holds nothing
		}
		if _, err := os.Stat(hostnames.StatePath(c.Root, c.Lab)); errors.Is(err, fs.ErrNotExist) {
			os.Remove(path)
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

func readClaim(path string) (*Claim, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Claim
	if err := json.Unmarshal(data, &c); err != nil || c.Lab == "" || c.Root == "" {
		return nil, fmt.Errorf("bad claim %s", path)
	}
	return &c, nil
}

// hostDirIdle reports whether the host directory holds nothing but its
// lock: no claim and no saved ip_forward.
func hostDirIdle() bool {
	entries, err := os.ReadDir(claimsDir())
	if err == nil && len(entries) > 0 {
		return false
	}
	for _, p := range []string{savedForwardPath(), savedForward6Path()} {
		if _, err := os.Stat(p); err == nil {
			return false
		}
	}
	return true
}

// removeHostDirIfIdle removes the empty claims directory and the host
// directory (the lock file went just before). A deploy that created the
// directory again in between keeps it: rmdir of a non-empty one fails.
func removeHostDirIfIdle() {
	os.Remove(claimsDir())
	os.Remove(hostRunDir)
}

// checkHostNames refuses a plan any of whose host-visible names is already
// claimed by another lab (any root) or exists on the host though no lab
// claims it, so a deploy never adopts, and a rollback never removes,
// something it did not create.
func checkHostNames(st *State, claims []*Claim) error {
	mine := claimOf("", st)
	owner := map[string]string{}
	for _, c := range claims {
		for _, n := range c.Netns {
			owner["netns "+n] = fmt.Sprintf("lab %s (root %s)", c.Lab, c.Root)
		}
		if !sameNetns(c) {
			continue // its devices are in another network namespace
		}
		for _, d := range c.Devices {
			owner["device "+d] = fmt.Sprintf("lab %s (root %s)", c.Lab, c.Root)
		}
	}
	netns, devices, err := hostNames(mine.Devices)
	if err != nil {
		return err
	}
	var problems []string
	for _, n := range mine.Netns {
		if who, ok := owner["netns "+n]; ok {
			problems = append(problems, fmt.Sprintf("network namespace %s is already used by %s", n, who))
		} else if netns[n] {
			problems = append(problems, fmt.Sprintf("network namespace %s already exists on the host (ip netns list)", n))
		}
	}
	for _, d := range mine.Devices {
		if who, ok := owner["device "+d]; ok {
			problems = append(problems, fmt.Sprintf("host device %s is already used by %s", d, who))
		} else if devices[d] {
			problems = append(problems, fmt.Sprintf("host device %s already exists on the host", d))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return fmt.Errorf("lab %s cannot be deployed: %s", st.Plan.Name, strings.Join(problems, "; "))
}

// hostNames reads the names registered in /run/netns and which of the
// device names want exist on the host.
func hostNames(want []string) (netns, devices map[string]bool, err error) {
	netns, devices = map[string]bool{}, map[string]bool{}
	entries, err := os.ReadDir(hostnames.NetnsDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("read %s: %w", hostnames.NetnsDir, err)
	}
	for _, e := range entries {
		netns[e.Name()] = true
	}
	if len(want) == 0 {
		return netns, devices, nil
	}
	if len(want) <= lookupDevices {
		// A few names (a small lab, an apply adding a node): one lookup
		// each costs less than dumping every link of a busy host.
		for _, d := range want {
			_, err := netlink.LinkByName(d)
			var nf netlink.LinkNotFoundError
			switch {
			case err == nil:
				devices[d] = true
			case !errors.As(err, &nf):
				return nil, nil, fmt.Errorf("look up host link %s: %w", d, err)
			}
		}
		return netns, devices, nil
	}
	list, err := nldump.Retry(netlink.LinkList)
	if err != nil {
		return nil, nil, fmt.Errorf("list host links: %w", err)
	}
	for _, l := range list {
		devices[l.Attrs().Name] = true
	}
	return netns, devices, nil
}

// lookupDevices is how many device names hostNames looks up one by one
// before it dumps every link instead.
const lookupDevices = 32

// claimsSubnets lists the host subnets of other labs' claims.
func claimsSubnets(claims []*Claim) []netip.Prefix {
	var out []netip.Prefix
	for _, c := range claims {
		if sameNetns(c) {
			out = append(out, c.Subnets...)
		}
	}
	return out
}
