package labs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"leolab/bridge"
)

// The host's net.ipv4.ip_forward from before the first NAT lab is kept in
// one host-wide file (under hostRunDir: every root's NAT labs share the one
// kernel setting) while any NAT lab exists, so the value can be put back
// when the last one goes, even when that lab's own state file was lost.

// saveForward records the current ip_forward before a NAT lab turns it on,
// unless an earlier NAT lab already did. Callers hold the IPAM lock.
func (m *Manager) saveForward() error {
	if _, err := os.Stat(savedForwardPath()); err == nil {
		return nil
	}
	cur, err := bridge.IPForward()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(savedForwardPath(), []byte(cur+"\n")); err != nil {
		return fmt.Errorf("save ip_forward: %w", err)
	}
	return nil
}

// restoreForwardIfLast puts the saved ip_forward back once no lab but
// except uses NAT, unless something else changed it since leolab turned it
// on. It takes the IPAM lock so a NAT deploy cannot interleave.
func (m *Manager) restoreForwardIfLast(except string) error {
	saved, err := os.ReadFile(savedForwardPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	lock, err := m.lockIPAM()
	if err != nil {
		return err
	}
	defer lock.unlock(false)
	if m.otherNATLabs(except) {
		return nil
	}
	if cur, err := bridge.IPForward(); err == nil && cur == "1" {
		if err := bridge.RestoreIPForward(strings.TrimSpace(string(saved))); err != nil {
			return err
		}
	}
	if err := os.Remove(savedForwardPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
