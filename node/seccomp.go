package node

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysAdminDenied are the system calls a node that keeps CAP_SYS_ADMIN
// without being privileged may not make: with that capability in the
// host's user namespace they reach past the node (a cgroup v1 mount's
// release_agent runs a program on the host; remounting /proc/sys or /sys
// read-write changes the host; BPF and perf read kernel memory; the
// kernel keyring is not namespaced). Routers need CAP_SYS_ADMIN only
// because FRR's daemons ask for it (for setns into VRF namespaces), which
// stays allowed.
var sysAdminDenied = []uintptr{
	unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT, unix.SYS_OPEN_TREE,
	unix.SYS_MOVE_MOUNT, unix.SYS_FSOPEN, unix.SYS_FSCONFIG, unix.SYS_FSMOUNT,
	unix.SYS_FSPICK, unix.SYS_MOUNT_SETATTR, unix.SYS_BPF, unix.SYS_PERF_EVENT_OPEN,
	unix.SYS_SWAPON, unix.SYS_SWAPOFF, unix.SYS_QUOTACTL, unix.SYS_KEYCTL,
	unix.SYS_ADD_KEY, unix.SYS_REQUEST_KEY, unix.SYS_FANOTIFY_INIT,
	unix.SYS_LOOKUP_DCOOKIE,
}

// auditArch is the seccomp architecture of this build; a system call made
// through another ABI (i386 or x32 on amd64) is denied outright, since its
// numbers differ.
func auditArch() (uint32, error) {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64, nil
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64, nil
	}
	return 0, fmt.Errorf("a node keeping CAP_SYS_ADMIN needs a seccomp filter, which leolab has for amd64 and arm64 only (use privileged: true on %s)", runtime.GOARCH)
}

// x32SyscallBit marks x32-ABI system calls on amd64.
const x32SyscallBit = 0x40000000

// denySysAdminEscapes installs, on every thread of init (so on everything
// the node runs), a filter answering EPERM to sysAdminDenied and to other
// ABIs.
func denySysAdminEscapes() error {
	prog, err := sysAdminFilter()
	if err != nil {
		return err
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return fmt.Errorf("install seccomp filter: %w", errno)
	}
	return nil
}

// sysAdminFilter is the classic BPF program of denySysAdminEscapes.
func sysAdminFilter() ([]unix.SockFilter, error) {
	arch, err := auditArch()
	if err != nil {
		return nil, err
	}
	const (
		ld    = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jge   = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		ret   = unix.BPF_RET | unix.BPF_K
		allow = unix.SECCOMP_RET_ALLOW
		deny  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
		// Offsets in struct seccomp_data.
		offNr   = 0
		offArch = 4
	)
	n := len(sysAdminDenied)
	// Layout: [0] load arch, [1] arch check, [2] load nr, [3] x32 check,
	// [4 .. 4+n) one check per denied call, [4+n] allow, [5+n] deny.
	denyAt := 5 + n
	prog := []unix.SockFilter{
		{Code: ld, K: offArch},
		{Code: jeq, K: arch, Jt: 0, Jf: uint8(denyAt - 2)},
		{Code: ld, K: offNr},
		{Code: jge, K: x32SyscallBit, Jt: uint8(denyAt - 4), Jf: 0},
	}
	for i, nr := range sysAdminDenied {
		here := 4 + i
		prog = append(prog, unix.SockFilter{Code: jeq, K: uint32(nr), Jt: uint8(denyAt - here - 1)})
	}
	prog = append(prog, unix.SockFilter{Code: ret, K: allow}, unix.SockFilter{Code: ret, K: deny})
	return prog, nil
}
