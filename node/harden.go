package node

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"leolab/internal/spec/nodespec"
	"leolab/internal/sysctl"
)

// applySysctls writes each net.* key under /proc/sys (which shows this
// node's network namespace).
func applySysctls(sysctls []nodespec.Sysctl) error {
	for _, s := range sysctls {
		if !strings.HasPrefix(s.Key, "net.") {
			return fmt.Errorf("sysctl %s: only net.* is per node", s.Key)
		}
		if err := sysctl.Write(s.Key, s.Value); err != nil {
			return err
		}
	}
	return nil
}

// Paths hidden from unprivileged nodes (after Docker's defaults).
var (
	maskedFiles = []string{
		"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug",
		"/proc/kallsyms", "/proc/latency_stats", "/proc/timer_stats",
		"/proc/kpagecount", "/proc/kpageflags", "/proc/kpagecgroup",
	}
	maskedDirs = []string{
		"/proc/acpi", "/proc/scsi", "/proc/asound", "/proc/driver",
		"/sys/firmware", "/sys/devices/virtual/powercap",
	}
	readOnlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sysrq-trigger",
	}
)

// maskProc hides or freezes the host-wide parts of /proc and /sys.
func maskProc() error {
	for _, p := range maskedFiles {
		if err := ignoreMissing(unix.Mount("/dev/null", p, "", unix.MS_BIND, "")); err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
	}
	for _, p := range maskedDirs {
		if err := ignoreMissing(unix.Mount("tmpfs", p, "tmpfs", unix.MS_RDONLY, "")); err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
	}
	for _, p := range readOnlyPaths {
		if err := ignoreMissing(readOnlyBind(p)); err != nil {
			return fmt.Errorf("make %s read-only: %w", p, err)
		}
	}
	// /proc/sys/net first gets its own (writable) mount, so that the
	// recursive read-only bind of /proc/sys below keeps it writable.
	if err := unix.Mount("/proc/sys/net", "/proc/sys/net", "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind /proc/sys/net: %w", err)
	}
	if err := readOnlyBind("/proc/sys"); err != nil {
		return fmt.Errorf("make /proc/sys read-only: %w", err)
	}
	return nil
}

func readOnlyBind(p string) error {
	if err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	return unix.Mount("", p, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
}

func ignoreMissing(err error) error {
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}

// keptCaps is Docker's default capability set plus NET_ADMIN.
var keptCaps = []int{
	unix.CAP_CHOWN, unix.CAP_DAC_OVERRIDE, unix.CAP_FSETID, unix.CAP_FOWNER,
	unix.CAP_MKNOD, unix.CAP_NET_RAW, unix.CAP_SETGID, unix.CAP_SETUID,
	unix.CAP_SETFCAP, unix.CAP_SETPCAP, unix.CAP_NET_BIND_SERVICE,
	unix.CAP_SYS_CHROOT, unix.CAP_KILL, unix.CAP_AUDIT_WRITE, unix.CAP_NET_ADMIN,
}

// keptCapMask is the capability set an unprivileged node keeps: keptCaps
// with caps applied (Add first, then Drop, so a name in both is dropped;
// "ALL" in Drop keeps only Add).
func keptCapMask(caps nodespec.Caps, last int) uint64 {
	all := uint64(1)<<uint(last+1) - 1
	var m uint64
	for _, c := range keptCaps {
		m |= 1 << uint(c)
	}
	var add, drop uint64
	for _, name := range caps.Add {
		add |= capBits(name, all)
	}
	for _, name := range caps.Drop {
		drop |= capBits(name, all)
	}
	if drop == all {
		// drop: [ALL] keeps exactly what is added, as Docker's --cap-drop ALL.
		return add
	}
	return (m | add) &^ drop & all
}

// capBits is one capability name (or ALL) as a set; unknown names (the
// topology rejects them) are the empty set.
func capBits(name string, all uint64) uint64 {
	if nodespec.CanonicalCap(name) == nodespec.CapAll {
		return all
	}
	if n, ok := nodespec.CapNumber(name); ok {
		return 1 << uint(n) & all
	}
	return 0
}

// harden makes init non-dumpable and, unless privileged, drops every
// capability outside the node's kept set and sets no_new_privs — on every
// thread of init, so whatever thread forks a node process passes them on.
// A node that keeps CAP_SYS_ADMIN gets a seccomp filter denying the system
// calls that capability would open a way out through (mounts, BPF, perf).
func harden(privileged bool, caps nodespec.Caps) error {
	// Non-dumpable: node processes cannot open /proc/1/exe (the host's leolab binary).
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("clear dumpable: %w", err)
	}
	if privileged {
		return nil
	}
	last, err := lastCap()
	if err != nil {
		return err
	}
	keep := keptCapMask(caps, last)
	// The bounding set is dropped first: it needs CAP_SETPCAP, which capset keeps anyway.
	for c := 0; c <= last; c++ {
		if keep&(1<<uint(c)) != 0 {
			continue
		}
		if err := allThreads(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0); err != nil {
			return fmt.Errorf("drop capability %d from bounding set: %w", c, err)
		}
	}
	if err := allThreads(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(keep), Permitted: uint32(keep), Inheritable: uint32(keep)},
		{Effective: uint32(keep >> 32), Permitted: uint32(keep >> 32), Inheritable: uint32(keep >> 32)},
	}
	if err := allThreads(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); err != nil {
		return fmt.Errorf("set capabilities: %w", err)
	}
	if err := allThreads(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	if keep&(1<<unix.CAP_SYS_ADMIN) != 0 {
		// After no_new_privs, which an unprivileged filter needs.
		return denySysAdminEscapes()
	}
	return nil
}

// allThreads runs a per-thread syscall on every thread of the process.
// It needs a CGO_ENABLED=0 build: with cgo the runtime refuses (ENOTSUP).
func allThreads(trap, a1, a2, a3 uintptr) error {
	_, _, errno := syscall.AllThreadsSyscall(trap, a1, a2, a3)
	if errno == syscall.ENOTSUP {
		return fmt.Errorf("per-thread syscalls on all threads need a CGO_ENABLED=0 build: %w", errno)
	}
	if errno != 0 {
		return errno
	}
	return nil
}

func lastCap() (int, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("read cap_last_cap: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("parse cap_last_cap: %w", err)
	}
	return n, nil
}
