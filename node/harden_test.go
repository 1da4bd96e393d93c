package node

import (
	"testing"

	"golang.org/x/sys/unix"

	"leolab/internal/spec/nodespec"
)

// TestKeptCapMask: the default set, additions, drops (a name in both is
// dropped), ALL either way, and names with CAP_ or in lower case.
func TestKeptCapMask(t *testing.T) {
	const last = 40
	all := uint64(1)<<(last+1) - 1
	def := keptCapMask(nodespec.Caps{}, last)
	bit := func(c int) uint64 { return 1 << uint(c) }
	if def&bit(unix.CAP_NET_ADMIN) == 0 || def&bit(unix.CAP_SYS_ADMIN) != 0 || def&bit(unix.CAP_SYS_MODULE) != 0 {
		t.Fatalf("default %x: want NET_ADMIN, not SYS_ADMIN or SYS_MODULE", def)
	}
	cases := []struct {
		name string
		caps nodespec.Caps
		want uint64
	}{
		{"add", nodespec.Caps{Add: []string{"SYS_ADMIN", "cap_sys_time"}}, def | bit(unix.CAP_SYS_ADMIN) | bit(unix.CAP_SYS_TIME)},
		{"drop", nodespec.Caps{Drop: []string{"NET_RAW"}}, def &^ bit(unix.CAP_NET_RAW)},
		{"both", nodespec.Caps{Add: []string{"SYS_TIME"}, Drop: []string{"SYS_TIME"}}, def},
		{"drop all", nodespec.Caps{Add: []string{"NET_ADMIN"}, Drop: []string{"ALL"}}, bit(unix.CAP_NET_ADMIN)},
		{"add all", nodespec.Caps{Add: []string{"all"}, Drop: []string{"SYS_MODULE"}}, all &^ bit(unix.CAP_SYS_MODULE)},
	}
	for _, c := range cases {
		if got := keptCapMask(c.caps, last); got != c.want {
			t.Errorf("%s: %x, want %x", c.name, got, c.want)
		}
	}
}

// TestSysAdminFilter runs the seccomp program on sample calls: the denied
// ones and other ABIs answer EPERM, everything else (setns among them) is
// allowed.
func TestSysAdminFilter(t *testing.T) {
	prog, err := sysAdminFilter()
	if err != nil {
		t.Skip(err)
	}
	arch, _ := auditArch()
	run := func(nr, arch uint32) uint32 { return runBPF(t, prog, nr, arch) }
	deny := uint32(unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM))
	for _, nr := range sysAdminDenied {
		if got := run(uint32(nr), arch); got != deny {
			t.Errorf("syscall %d: %x, want EPERM", nr, got)
		}
	}
	for _, nr := range []uintptr{unix.SYS_SETNS, unix.SYS_READ, unix.SYS_SOCKET, unix.SYS_EXECVE} {
		if got := run(uint32(nr), arch); got != unix.SECCOMP_RET_ALLOW {
			t.Errorf("syscall %d: %x, want allowed", nr, got)
		}
	}
	if got := run(uint32(unix.SYS_READ), 0x40000003); got != deny {
		t.Errorf("another ABI: %x, want EPERM", got)
	}
	if got := run(x32SyscallBit|uint32(unix.SYS_READ), arch); got != deny {
		t.Errorf("x32 call: %x, want EPERM", got)
	}
}

// runBPF interprets the few classic BPF instructions sysAdminFilter uses.
func runBPF(t *testing.T, prog []unix.SockFilter, nr, arch uint32) uint32 {
	var acc uint32
	for pc := 0; pc < len(prog); pc++ {
		ins := prog[pc]
		switch ins.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			acc = map[uint32]uint32{0: nr, 4: arch}[ins.K]
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K:
			if acc == ins.K {
				pc += int(ins.Jt)
			} else {
				pc += int(ins.Jf)
			}
		case unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K:
			if acc >= ins.K {
				pc += int(ins.Jt)
			} else {
				pc += int(ins.Jf)
			}
		case unix.BPF_RET | unix.BPF_K:
			return ins.K
		default:
			t.Fatalf("instruction %d: unexpected code %x", pc, ins.Code)
		}
	}
	t.Fatal("the program ran off its end")
	return 0
}
