//go:build leolabfault

package labs

import (
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
