// Package sysctl owns the mapping of sysctl keys to their /proc/sys files
// and reads and writes them. Which namespace a net.* key belongs to is the
// caller's: /proc/sys/net shows the network namespace of the thread that
// opens it.
package sysctl

import (
	"fmt"
	"os"
	"strings"
)

// Path maps a key such as net.ipv4.conf.eth0/1.forwarding to its /proc/sys
// file ("/" in a key stands for a "." inside one component, as sysctl(8)
// has it). Empty, "." and ".." components are refused.
func Path(key string) (string, error) {
	parts := strings.Split(key, ".")
	for i, p := range parts {
		p = strings.ReplaceAll(p, "/", ".")
		if p == "" || p == "." || p == ".." {
			return "", fmt.Errorf("sysctl %s: bad key", key)
		}
		parts[i] = p
	}
	return "/proc/sys/" + strings.Join(parts, "/"), nil
}

// Write sets key to value.
func Write(key, value string) error {
	path, err := Path(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(value), 0); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

// Read returns key's value without its trailing newline.
func Read(key string) (string, error) {
	path, err := Path(key)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read sysctl %s: %w", key, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Component escapes a name (a device such as eth0.1) for use as one
// component of a key.
func Component(name string) string { return strings.ReplaceAll(name, ".", "/") }
