package labs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"leolab/node"
)

// logPoll is how often `logs -f` looks for new output.
const logPoll = 200 * time.Millisecond

// Logs writes the output of a node's main process (its console log: the
// previous file, then the current one) to w. With follow it keeps writing
// what arrives, across the log's rotation, until ctx ends or the lab is
// destroyed.
func (m *Manager) Logs(ctx context.Context, lab, target string, follow bool, w io.Writer) error {
	lab, name, err := m.locateNode(lab, target)
	if err != nil {
		return err
	}
	dir := m.nodeDir(lab, name)
	if err := copyFile(w, filepath.Join(dir, node.ConsoleLogOld)); err != nil {
		return err
	}
	cur := filepath.Join(dir, node.ConsoleLog)
	f, err := os.Open(cur)
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(dir); serr == nil {
			return nil // init could not start a new file after the old one
		}
	}
	if err != nil {
		return fmt.Errorf("node %s: open console log: %w", name, err)
	}
	defer func() { f.Close() }()
	for {
		if _, err := io.Copy(w, f); err != nil {
			return fmt.Errorf("node %s: read console log: %w", name, err)
		}
		if !follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(logPoll):
		}
		next, err := reopenIfRotated(f, cur)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // the lab was destroyed
		}
		if err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
		if next != f {
			io.Copy(w, f) // the rest of the rotated file
			f.Close()
			f = next
		}
	}
}

// reopenIfRotated returns f, or the new file at path once init rotated
// the log (path names another file).
func reopenIfRotated(f *os.File, path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	old, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if os.SameFile(st, old) {
		return f, nil
	}
	return os.Open(path)
}

// copyFile copies path to w; a missing file is empty.
func copyFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
