//go:build !leolab_embed_fetch

package fetchbin

var embedded []byte
