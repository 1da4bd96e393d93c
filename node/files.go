package node

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"leolab/internal/spec/nodespec"
)

// writeFiles creates spec.Files inside the node, after the pivot (so every
// path, symlinks included, resolves inside the node's own root); a
// directory that exists already is left alone. Owners
// are looked up in the node's own /etc/passwd and /etc/group: a router
// daemon's user is the image's, whatever ids it has there.
func writeFiles(files []nodespec.File) error {
	for _, f := range files {
		uid, gid, err := lookupOwner(f.Owner)
		if err != nil {
			return fmt.Errorf("file %s: %w", f.Path, err)
		}
		if err := writeNodeFile(f, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

func writeNodeFile(f nodespec.File, uid, gid int) error {
	mode := os.FileMode(f.Mode).Perm()
	if f.Dir {
		if _, err := os.Stat(f.Path); err == nil {
			return nil // the image's (or a bind's) own: left as it is
		}
		if err := os.MkdirAll(f.Path, mode); err != nil {
			return fmt.Errorf("create %s: %w", f.Path, err)
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(f.Path), err)
		}
		// An image's symlink in place of the file is replaced, not followed.
		if st, err := os.Lstat(f.Path); err == nil && st.Mode()&os.ModeSymlink != 0 {
			os.Remove(f.Path)
		}
		if err := os.WriteFile(f.Path, []byte(f.Data), mode); err != nil {
			return fmt.Errorf("write %s: %w", f.Path, err)
		}
	}
	// Lchown and Chmod: the mode holds even where the file existed before.
	if err := os.Lchown(f.Path, uid, gid); err != nil {
		return fmt.Errorf("chown %s: %w", f.Path, err)
	}
	if err := os.Chmod(f.Path, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", f.Path, err)
	}
	return nil
}

// lookupOwner resolves "USER[:GROUP]" in the node's /etc/passwd and
// /etc/group; a missing group is the user's primary one; "" is root.
func lookupOwner(owner string) (uid, gid int, err error) {
	if owner == "" {
		return 0, 0, nil
	}
	user, group, hasGroup := strings.Cut(owner, ":")
	fields, err := dbEntry("/etc/passwd", user)
	if err != nil {
		return 0, 0, err
	}
	if len(fields) < 4 {
		return 0, 0, fmt.Errorf("user %s: malformed /etc/passwd entry", user)
	}
	if uid, err = strconv.Atoi(fields[2]); err != nil {
		return 0, 0, fmt.Errorf("user %s: bad uid %q", user, fields[2])
	}
	gidText := fields[3]
	if hasGroup {
		g, err := dbEntry("/etc/group", group)
		if err != nil {
			return 0, 0, err
		}
		if len(g) < 3 {
			return 0, 0, fmt.Errorf("group %s: malformed /etc/group entry", group)
		}
		gidText = g[2]
	}
	if gid, err = strconv.Atoi(gidText); err != nil {
		return 0, 0, fmt.Errorf("owner %s: bad gid %q", owner, gidText)
	}
	return uid, gid, nil
}

// dbEntry returns the colon-separated fields of name's line in a
// passwd-format file.
func dbEntry(file, name string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if fields[0] == name {
			return fields, nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return nil, fmt.Errorf("no %s in the node's %s", name, file)
}
