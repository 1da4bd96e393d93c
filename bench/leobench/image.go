package main

import (
	"archive/tar"
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// imageResult is issue 7's image-preparation target: the first use of a
// large tarball unpacks it once, and every node on it then adds only its
// overlay (≤ 3 ms per node).
type imageResult struct {
	MiB           int     `json:"tarball_mib"`
	Nodes         int     `json:"nodes"`
	ColdDeploy    float64 `json:"cold_deploy_s"`    // first deploy: unpacks the tarball
	WarmDeploy    float64 `json:"warm_deploy_s"`    // second deploy: cache hit
	BusyboxDeploy float64 `json:"busybox_deploy_s"` // same N on the built-in image, same run
	CachedImages  int     `json:"cached_images"`    // cache entries for the tarball after both deploys
}

// unpackS is the one-time cost of the tarball: cold minus warm deploy.
func (r imageResult) unpackS() float64 { return r.ColdDeploy - r.WarmDeploy }

// perNodeMs is what a node on the tarball costs over a node on busybox.
func (r imageResult) perNodeMs() float64 {
	return 1000 * (r.WarmDeploy - r.BusyboxDeploy) / float64(r.Nodes)
}

// measureImage deploys an n-node lab twice on a tarball of mib MiB (busybox
// plus incompressible filler) and compares with the busybox deploy at the
// same N from the main table.
func measureImage(c config, n, mib int, busybox float64) (*imageResult, error) {
	r := &imageResult{MiB: mib, Nodes: n, BusyboxDeploy: busybox}
	tarball := filepath.Join(c.work, fmt.Sprintf("rootfs-%dmib.tar", mib))
	if err := writeBigRootfs(tarball, mib); err != nil {
		return nil, fmt.Errorf("write tarball: %w", err)
	}
	defer os.Remove(tarball)
	lab := fmt.Sprintf("benchimg%d", n)
	file := filepath.Join(c.work, lab+".yaml")
	if err := os.WriteFile(file, []byte(starTopology(lab, n)), 0o644); err != nil {
		return nil, err
	}
	root := filepath.Join(c.work, "root")
	for i, d := range []*float64{&r.ColdDeploy, &r.WarmDeploy} {
		fmt.Fprintf(os.Stderr, "image: deploy %d of %d nodes on a %d MiB tarball\n", i+1, n, mib)
		var err error
		if *d, err = timed(c, root, "deploy", "-q", "--rootfs", tarball, file); err != nil {
			timed(c, root, "destroy", "--lab", lab)
			return nil, err
		}
		if _, err := timed(c, root, "exec", "--lab", lab, "n1", "--", "true"); err != nil {
			timed(c, root, "destroy", "--lab", lab)
			return nil, fmt.Errorf("node on the tarball: %w", err)
		}
		if _, err := timed(c, root, "destroy", "--lab", lab); err != nil {
			return nil, err
		}
		if err := checkClean(lab); err != nil {
			return nil, err
		}
	}
	var err error
	r.CachedImages, err = cachedImagesOf(c, root, tarball)
	return r, err
}

// writeBigRootfs writes a tar of /bin/busybox (with sh and true links)
// followed by mib files of 1 MiB of random bytes.
func writeBigRootfs(path string, mib int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	tw := tar.NewWriter(bw)
	if err := addBusybox(tw); err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{7})
	for i := 0; i < mib; i++ {
		hdr := &tar.Header{Name: fmt.Sprintf("filler/%04d", i), Mode: 0o644, Size: 1 << 20, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.CopyN(tw, rng, 1<<20); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func addBusybox(tw *tar.Writer) error {
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return fmt.Errorf("busybox (apt-get install busybox-static): %w", err)
	}
	for _, d := range []string{"bin/", "etc/", "tmp/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "bin/busybox", Mode: 0o755, Size: int64(len(bb)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(bb); err != nil {
		return err
	}
	for _, l := range []string{"sh", "true"} {
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + l, Linkname: "busybox", Mode: 0o777, Typeflag: tar.TypeSymlink}); err != nil {
			return err
		}
	}
	return nil
}

// cachedImagesOf counts `leolab image ls` lines naming the tarball.
func cachedImagesOf(c config, root, tarball string) (int, error) {
	cmd := exec.Command(c.leolab, "image", "ls")
	cmd.Env = append(os.Environ(), "LEOLAB_ROOT="+root)
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("image ls: %w", err)
	}
	return strings.Count(string(out), tarball), nil
}

func printImage(w io.Writer, r *imageResult) {
	fmt.Fprintf(w, "image: %d MiB tarball, %d nodes: first deploy %.2f s, second %.2f s (busybox %.2f s): "+
		"unpacked once in %.2f s (%d cache entry), %.2f ms per node over busybox\n",
		r.MiB, r.Nodes, r.ColdDeploy, r.WarmDeploy, r.BusyboxDeploy, r.unpackS(), r.CachedImages, r.perNodeMs())
}
