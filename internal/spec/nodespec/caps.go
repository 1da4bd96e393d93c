package nodespec

// capNames are the Linux capabilities by number (capability.h), without
// their CAP_ prefix.
var capNames = [...]string{
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL",
	"SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
	"NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
	"SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
	"SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL",
	"SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
	"BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
}

// CapAll stands for every capability in a capabilities list.
const CapAll = "ALL"

// CapNumber returns the number of a capability named as in capabilities(7)
// with or without its CAP_ prefix, in any case ("net_admin",
// "CAP_NET_ADMIN"); ok is false for an unknown name.
func CapNumber(name string) (n int, ok bool) {
	canon := CanonicalCap(name)
	for i, c := range capNames {
		if c == canon {
			return i, true
		}
	}
	return 0, false
}

// CanonicalCap is a capability name as leolab records it: upper case,
// without CAP_ ("ALL" stays "ALL").
func CanonicalCap(name string) string {
	b := []byte(name)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	if len(b) > 4 && string(b[:4]) == "CAP_" {
		b = b[4:]
	}
	return string(b)
}

// Caps is a node's capability profile beyond the default set: capabilities
// added to and dropped from it, canonical names (Add is applied first, so
// a name in both is dropped; "ALL" in Drop drops every one not added).
type Caps struct {
	Add  []string `json:"add,omitempty"`
	Drop []string `json:"drop,omitempty"`
}

// File is a file or directory init creates in the node's root before the
// node runs anything, owned by Owner ("USER[:GROUP]" looked up in the
// node's own /etc/passwd and /etc/group; "" is root).
type File struct {
	Path  string `json:"path"`
	Data  string `json:"data,omitempty"`
	Mode  uint32 `json:"mode"`
	Owner string `json:"owner,omitempty"`
	Dir   bool   `json:"dir,omitempty"`
}
