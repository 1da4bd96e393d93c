//go:build leolab_embed_fetch

package fetchbin

import _ "embed"

//go:embed leolab-fetch
var embedded []byte
