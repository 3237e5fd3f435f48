// Package web holds Sextant's browser UI: a page and ES modules served from the binary, with no
// build step (Preact, htm and signals are vendored under static/vendor).
package web

import (
	"embed"
	"io/fs"
)

//go:embed index.html static
var files embed.FS

// FS is the UI's files: index.html at the root, the rest under static/.
func FS() fs.FS { return files }
