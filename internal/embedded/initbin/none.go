//go:build !leolab_embed_init

package initbin

var embedded []byte
