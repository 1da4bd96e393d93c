// Command leolab-fetch is the small program that reads OCI layouts, docker
// archives and registry images for leolab (package rootfs/ocifetch). make
// build compiles it and embeds it in leolab, which runs it from a sealed
// in-memory file only when such an image must be read: leolab itself then
// links neither go-containerregistry nor net/http, and no command pays for
// their package initialisers.
package main

import (
	"fmt"
	"os"

	"leolab/internal/wire/fetchproto"
	"leolab/rootfs/ocifetch"
)

func main() {
	ocifetch.MaybeRun() // does not return when started by leolab
	fmt.Fprintf(os.Stderr, "%s: run by leolab only, to read an OCI or docker image\n", fetchproto.Arg0)
	os.Exit(2)
}
