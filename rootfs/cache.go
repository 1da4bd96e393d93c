package rootfs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-multierror"
	"golang.org/x/sys/unix"

	"leolab/internal/atomicfile"
	"leolab/internal/flock"
)

// Cache layout under Root/images (mode 0700: images hold setuid binaries):
//
//	<digest>/rootfs       the image tree, never written after publication
//	<digest>/meta.json    source, kind, digest, size, created
//	<digest>/last-used    empty file; its mtime is the last Prepare
//	<digest>/build.log    the builder's output (Debian images)
//	.tmp-<id>/            an unpack or removal in progress (swept when its lock is free)
//	.locks/<digest>.lock  flock serialising the unpack of one digest
//	.locks/tmp-<id>.lock  flock held by whoever owns .tmp-<id>
//	.index/<hash>         cheap cache key (path+size+mtime+inode, or a ref) → digest
const (
	treeName     = "rootfs"
	metaName     = "meta.json"
	lastUsedName = "last-used"
	tmpPrefix    = ".tmp-"
)

// builds counts image builds (unpacks) in this process; tests use it.
var builds atomic.Int64

type meta struct {
	Source  string      `json:"source"`
	Kind    string      `json:"kind"`
	Digest  string      `json:"digest"`
	Size    int64       `json:"size"`
	Created time.Time   `json:"created"`
	Debian  *DebianInfo `json:"debian,omitempty"`
}

func (s *Store) imagesDir() string             { return filepath.Join(s.Root, "images") }
func (s *Store) imageDir(digest string) string { return filepath.Join(s.imagesDir(), digest) }
func (s *Store) treeDir(digest string) string  { return filepath.Join(s.imageDir(digest), treeName) }

// ensureDirs creates the cache's directories.
func (s *Store) ensureDirs() error {
	if s.Root == "" {
		return errors.New("image cache: no root directory set")
	}
	if err := os.MkdirAll(s.Root, 0o755); err != nil {
		return fmt.Errorf("create data dir %s: %w", s.Root, err)
	}
	for _, d := range []string{s.imagesDir(), filepath.Join(s.imagesDir(), ".locks"), filepath.Join(s.imagesDir(), ".index")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("create image cache %s: %w", d, err)
		}
	}
	return nil
}

// ready reports whether digest is published; meta.json is written before the
// publishing rename, so a digest directory holding it is complete.
func (s *Store) ready(digest string) bool {
	_, err := os.Stat(filepath.Join(s.imageDir(digest), metaName))
	return err == nil
}

// touch records a use of digest for `image ls` and prune.
func (s *Store) touch(digest string) {
	now := time.Now()
	_ = os.Chtimes(filepath.Join(s.imageDir(digest), lastUsedName), now, now)
}

func (s *Store) image(source, kind, digest string) Image {
	s.touch(digest)
	return Image{Source: source, Kind: kind, Digest: digest, Dir: s.treeDir(digest)}
}

// lockPath opens (creating) the lock file path and takes its lock, waiting
// until ctx is done.
func lockPath(ctx context.Context, path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := flock.Wait(ctx, f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (s *Store) lockDigest(ctx context.Context, digest string) (*os.File, error) {
	return lockPath(ctx, filepath.Join(s.imagesDir(), ".locks", digest+".lock"))
}

// tempDir is a private directory under images/ owned by this process for as
// long as it holds the matching lock.
type tempDir struct {
	path, lockPath string
	lock           *os.File
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newTemp reserves .tmp-<id>: the lock is taken before the directory exists,
// so a sweeper that can take the lock knows the owner is gone.
func (s *Store) newTemp(create bool) (*tempDir, error) {
	id := randomID()
	t := &tempDir{
		path:     filepath.Join(s.imagesDir(), tmpPrefix+id),
		lockPath: filepath.Join(s.imagesDir(), ".locks", "tmp-"+id+".lock"),
	}
	lock, err := lockPath(context.Background(), t.lockPath)
	if err != nil {
		return nil, err
	}
	t.lock = lock
	if create {
		if err := os.Mkdir(t.path, 0o700); err != nil {
			t.release()
			return nil, fmt.Errorf("create %s: %w", t.path, err)
		}
	}
	return t, nil
}

// release removes what is left of the temp dir, then drops the lock file
// before the lock so a sweeper never sees a dir without its lock file.
func (t *tempDir) release() error {
	err := removeTree(t.path)
	_ = os.Remove(t.lockPath)
	t.lock.Close()
	return err
}

// sweep removes .tmp-* dirs whose owner died (its lock is free or gone).
func (s *Store) sweep() {
	entries, err := os.ReadDir(s.imagesDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		id, ok := strings.CutPrefix(e.Name(), tmpPrefix)
		if !ok {
			continue
		}
		lockPath := filepath.Join(s.imagesDir(), ".locks", "tmp-"+id+".lock")
		f, err := os.OpenFile(lockPath, os.O_RDWR|unix.O_CLOEXEC, 0)
		if err == nil && flock.Held(f) {
			f.Close() // owner alive
			continue
		}
		_ = removeTree(filepath.Join(s.imagesDir(), e.Name()))
		_ = os.Remove(lockPath)
		if f != nil {
			f.Close()
		}
	}
}

// buildFunc writes an image tree into dir (which does not exist yet) and
// returns its size in bytes.
type buildFunc func(ctx context.Context, dir string) (int64, error)

// publish makes digest available, building it at most once across
// goroutines and processes: unpack into .tmp-<id>, then rename.
func (s *Store) publish(ctx context.Context, m meta, build buildFunc) error {
	if s.ready(m.Digest) {
		return nil
	}
	if err := s.ensureDirs(); err != nil {
		return err
	}
	lock, err := s.lockDigest(ctx, m.Digest)
	if err != nil {
		return err
	}
	defer lock.Close()
	if s.ready(m.Digest) { // someone else built it while we waited
		return nil
	}
	s.sweep()
	t, err := s.newTemp(true)
	if err != nil {
		return err
	}
	defer t.release()
	builds.Add(1)
	size, err := build(ctx, filepath.Join(t.path, treeName))
	if err != nil {
		return err
	}
	m.Size, m.Created = size, time.Now().UTC()
	if err := writeMeta(t.path, m); err != nil {
		return err
	}
	// Flush the tree before the rename publishes it, so a crash cannot leave
	// a finished-looking image with missing data.
	if err := syncFS(t.path); err != nil {
		return err
	}
	if err := os.Rename(t.path, s.imageDir(m.Digest)); err != nil {
		return fmt.Errorf("publish image %s: %w", m.Digest, err)
	}
	return nil
}

func writeMeta(dir string, m meta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode image meta: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, metaName), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write image meta: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, lastUsedName), nil, 0o644); err != nil {
		return fmt.Errorf("write image meta: %w", err)
	}
	return nil
}

func syncFS(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// indexPath maps a cache key to its index file.
func (s *Store) indexPath(key string) string {
	h := sha256.Sum256([]byte(key))
	return filepath.Join(s.imagesDir(), ".index", hex.EncodeToString(h[:16]))
}

// indexGet returns the digest remembered for key, if it is still published.
func (s *Store) indexGet(key string) (string, bool) {
	b, err := os.ReadFile(s.indexPath(key))
	if err != nil {
		return "", false
	}
	d := strings.TrimSpace(string(b))
	if !isDigest(d) || !s.ready(d) {
		return "", false
	}
	return d, true
}

// indexPut remembers key → digest (atomically; a lost write only costs a rehash).
func (s *Store) indexPut(key, digest string) {
	_ = atomicfile.Write(s.indexPath(key), []byte(digest+"\n"))
}

// fileKey identifies a file's content cheaply: if path, size, mtime and
// inode are unchanged, its digest is assumed unchanged.
func fileKey(kind, path string, fi fs.FileInfo) string {
	st, _ := fi.Sys().(*unix.Stat_t)
	var ino, dev uint64
	if st != nil {
		ino, dev = st.Ino, st.Dev
	}
	return fmt.Sprintf("%s\x00%s\x00%d\x00%d\x00%d\x00%d", kind, path, fi.Size(), fi.ModTime().UnixNano(), ino, dev)
}

func isDigest(d string) bool {
	if len(d) != 64 {
		return false
	}
	_, err := hex.DecodeString(d)
	return err == nil
}

// List returns the cached images, most recently used first.
func (s *Store) List() ([]ImageInfo, error) {
	entries, err := os.ReadDir(s.imagesDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var out []ImageInfo
	for _, e := range entries {
		if !isDigest(e.Name()) {
			continue
		}
		info, err := s.info(e.Name())
		if err != nil {
			continue // not published (or being removed)
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastUsed.After(out[j].LastUsed) })
	return out, nil
}

func (s *Store) info(digest string) (ImageInfo, error) {
	b, err := os.ReadFile(filepath.Join(s.imageDir(digest), metaName))
	if err != nil {
		return ImageInfo{}, err
	}
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		return ImageInfo{}, fmt.Errorf("read meta of image %s: %w", digest, err)
	}
	info := ImageInfo{Source: m.Source, Digest: digest, Size: m.Size, LastUsed: m.Created, Debian: m.Debian}
	if fi, err := os.Stat(filepath.Join(s.imageDir(digest), lastUsedName)); err == nil {
		info.LastUsed = fi.ModTime()
	}
	return info, nil
}

// Remove deletes the one cached image whose digest starts with digestPrefix
// ("sha256:" optional). Nodes still running on it keep working only as far as
// the kernel keeps the files they opened; the caller checks usage first.
func (s *Store) Remove(digestPrefix string) error {
	prefix := strings.TrimPrefix(strings.ToLower(digestPrefix), "sha256:")
	if prefix == "" {
		return errors.New("remove image: empty digest")
	}
	list, err := s.List()
	if err != nil {
		return err
	}
	var match []string
	for _, im := range list {
		if strings.HasPrefix(im.Digest, prefix) {
			match = append(match, im.Digest)
		}
	}
	switch len(match) {
	case 0:
		return fmt.Errorf("remove image %s: no such image", digestPrefix)
	case 1:
		return s.removeImage(match[0])
	default:
		return fmt.Errorf("remove image %s: ambiguous, matches %d images", digestPrefix, len(match))
	}
}

// Prune removes every cached image keep rejects (all of them if keep is nil),
// stale temporary dirs and dangling index entries, and returns the digests removed.
func (s *Store) Prune(keep func(digest string) bool) ([]string, error) {
	list, err := s.List()
	if err != nil {
		return nil, err
	}
	s.sweep()
	var removed []string
	var errs *multierror.Error
	for _, im := range list {
		if keep != nil && keep(im.Digest) {
			continue
		}
		if err := s.removeImage(im.Digest); err != nil {
			errs = multierror.Append(errs, err)
			continue
		}
		removed = append(removed, im.Digest)
	}
	s.pruneIndex()
	return removed, errs.ErrorOrNil()
}

// removeImage unpublishes digest with one rename (under its lock, so no
// concurrent Prepare sees half an image), then deletes it.
func (s *Store) removeImage(digest string) error {
	lock, err := s.lockDigest(context.Background(), digest)
	if err != nil {
		return err
	}
	defer lock.Close()
	t, err := s.newTemp(false)
	if err != nil {
		return err
	}
	if err := os.Rename(s.imageDir(digest), t.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.release()
		return fmt.Errorf("remove image %s: %w", digest, err)
	}
	if err := t.release(); err != nil {
		return fmt.Errorf("remove image %s: %w", digest, err)
	}
	return nil
}

func (s *Store) pruneIndex() {
	dir := filepath.Join(s.imagesDir(), ".index")
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil || !s.ready(strings.TrimSpace(string(b))) {
			_ = os.Remove(p)
		}
	}
}
