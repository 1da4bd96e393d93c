// Package nsthread runs a function on a throwaway OS thread inside a
// network namespace. The thread stays locked and is discarded by the
// runtime afterwards, so no goroutine ever inherits a foreign namespace;
// sockets the function opens stay in that namespace wherever they are used
// later. It owns nothing but those threads.
package nsthread

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// Do runs fn on a fresh OS thread that has joined ns (or that stays where
// the process's threads are when ns is netns.None()).
func Do(ns netns.NsHandle, fn func() error) error { return run(ns, "netns", fn) }

// DoPath is Do for the namespace at path (/run/netns/NAME, /proc/PID/ns/net).
func DoPath(path string, fn func() error) error {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", path, err)
	}
	defer ns.Close()
	return run(ns, "netns "+path, fn)
}

func run(ns netns.NsHandle, what string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if ns.IsOpen() {
			if err := netns.Set(ns); err != nil {
				errc <- fmt.Errorf("enter %s: %w", what, err)
				return
			}
		}
		errc <- fn()
	}()
	return <-errc
}
