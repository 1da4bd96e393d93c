package labs

import "leolab/rootfs"

// Images is the image cache of this root.
func (m *Manager) Images() *rootfs.Store { return m.store() }

// RemoveImage removes one cached image by digest prefix.
func (m *Manager) RemoveImage(digest string) error { return m.store().Remove(digest) }

// PruneImages removes every cached image no deployed lab uses.
func (m *Manager) PruneImages() ([]string, error) {
	inUse := map[string]bool{}
	states, err := m.states("")
	if err != nil {
		return nil, err
	}
	for _, st := range states {
		for _, d := range st.Images {
			inUse[d] = true
		}
	}
	return m.store().Prune(func(d string) bool { return inUse[d] })
}
