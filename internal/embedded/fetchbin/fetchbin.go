// Package fetchbin holds the image fetcher (cmd/leolab-fetch) embedded in
// the leolab binary by make build. Builds without the leolab_embed_fetch tag
// (go test, go run) hold nothing; rootfs then re-executes its own binary as
// the fetcher when that binary can serve as one (see fetchproto.SelfFetcher).
package fetchbin

// Binary is the embedded fetcher program, or nil.
func Binary() []byte { return embedded }
