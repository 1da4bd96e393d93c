package labs

import (
	"errors"
	"fmt"
	"io/fs"

	"leolab/topology"
)

// LabPlan returns the resolved plan a deployed lab runs, as its state file
// recorded it (what `graph --lab` draws).
func (m *Manager) LabPlan(lab string) (*topology.Plan, error) {
	st, err := readState(m.statePath(lab))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no lab named %s is deployed", lab)
	}
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", lab, err)
	}
	return st.Plan, nil
}
