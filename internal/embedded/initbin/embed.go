//go:build leolab_embed_init

package initbin

import _ "embed"

//go:embed leolab-init
var embedded []byte
