// Package mountspec owns the description of one mount that rootfs asks the
// node runtime to perform inside a node's private mount namespace. It only
// describes mounts; it never performs them.
package mountspec

// Mount is one mount(2) call. Target is relative to the node's new root
// directory ("" or "." means the root directory itself). Mounts are applied in
// order, before pivot_root.
type Mount struct {
	Source string  `json:"source"`
	Target string  `json:"target"`
	FSType string  `json:"fstype,omitempty"`
	Flags  uintptr `json:"flags,omitempty"`
	Data   string  `json:"data,omitempty"`
	// MkdirTarget creates Target (as a directory, or an empty file when
	// Source is a file) inside the new root before mounting.
	MkdirTarget bool `json:"mkdir,omitempty"`
	// Remount, when set, is applied after the mount (e.g. MS_BIND|MS_REMOUNT|MS_RDONLY
	// to make a bind read-only); 0 means no remount.
	Remount uintptr `json:"remount,omitempty"`
}
