// Package initbin holds the node init program (cmd/leolab-init) embedded in
// the leolab binary by make build. Builds without the leolab_embed_init tag
// (go test, go run) hold nothing, and the node runtime then re-executes its
// own binary as init instead.
package initbin

// Binary is the embedded init program, or nil.
func Binary() []byte { return embedded }
