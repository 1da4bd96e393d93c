package labs

import (
	"errors"
	"fmt"
	"io/fs"
	"leolab/internal/atomicfile"
	"os"
	"strings"
)

// The host's net.ipv4.ip_forward from before the first NAT lab is kept in
// one host-wide file (under hostRunDir: every root's NAT labs share the one
// kernel setting) while any NAT lab exists, so the value can be put back
// when the last one goes, even when that lab's own state file was lost.
// net.ipv6.conf.all.forwarding is kept the same way, in its own file, for
// NAT66 labs (nat: true on a bridge with IPv6).

// forwardSetting is one of the two forwarding sysctls a NAT lab turns on.
type forwardSetting struct {
	name string
	path func() string
	v6   bool
}

var (
	ipv4Forward = forwardSetting{"ip_forward", savedForwardPath, false}
	ipv6Forward = forwardSetting{"ipv6 forwarding", savedForward6Path, true}
)

// saveForward records the current ip_forward before a NAT lab turns it on,
// unless an earlier NAT lab already did. Callers hold lockClaimsAndForwarding.
func (m *Manager) saveForward() error { return saveSetting(m.network(), ipv4Forward) }

// saveForward6 is saveForward for IPv6 forwarding, before a NAT66 lab.
func (m *Manager) saveForward6() error { return saveSetting(m.network(), ipv6Forward) }

func saveSetting(net network, s forwardSetting) error {
	if _, err := os.Stat(s.path()); err == nil {
		return nil
	}
	cur, err := net.Forwarding(s.v6)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(s.path(), []byte(cur+"\n")); err != nil {
		return fmt.Errorf("save %s: %w", s.name, err)
	}
	return nil
}

// restoreForwardIfLast puts the saved ip_forward back once no lab but
// except uses NAT, and the saved IPv6 forwarding once none uses NAT66,
// unless something else changed them since leolab turned them on. It takes
// lockClaimsAndForwarding so a NAT deploy cannot interleave.
func (m *Manager) restoreForwardIfLast(except string) error {
	pending := false
	for _, s := range []forwardSetting{ipv4Forward, ipv6Forward} {
		if _, err := os.Stat(s.path()); err == nil {
			pending = true
		}
	}
	if !pending {
		return nil
	}
	lock, err := m.lockClaimsAndForwarding()
	if err != nil {
		return err
	}
	defer lock.unlock(false)
	nat, nat6 := m.otherLabsNAT(except)
	if !nat {
		if err := restoreSetting(m.network(), ipv4Forward); err != nil {
			return err
		}
	}
	if !nat6 {
		return restoreSetting(m.network(), ipv6Forward)
	}
	return nil
}

func restoreSetting(net network, s forwardSetting) error {
	saved, err := os.ReadFile(s.path())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if cur, err := net.Forwarding(s.v6); err == nil && cur == "1" {
		if err := net.RestoreForwarding(s.v6, strings.TrimSpace(string(saved))); err != nil {
			return err
		}
	}
	if err := os.Remove(s.path()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
