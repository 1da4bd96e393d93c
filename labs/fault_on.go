//go:build leolabfault

package labs

import (
	"errors"
	"os"
	"syscall"
)

// faultHook kills the deploying process at the step boundary named by
// LEOLAB_FAULT_AT, for fault-injection tests. Only binaries built with the
// leolabfault tag contain it.
func faultHook(step string) {
	if os.Getenv("LEOLAB_FAULT_AT") == step {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
}

// faultErr fails the step named by LEOLAB_FAULT_FAIL, for tests of what a
// failure there leaves behind.
func faultErr(step string) error {
	if os.Getenv("LEOLAB_FAULT_FAIL") == step {
		return errors.New("injected failure at " + step)
	}
	return nil
}
