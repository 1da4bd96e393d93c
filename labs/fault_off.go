//go:build !leolabfault

package labs

// faultHook is a no-op in release builds; see fault_on.go.
func faultHook(string) {}

// faultErr never fails in release builds; see fault_on.go.
func faultErr(string) error { return nil }
