package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"net/http"
	"regexp"
)

// uiPages are the web UI's routes; each serves the same page, which reads the URL.
var uiPages = []string{"/login", "/incidents/new", "/incidents/{id}", "/tokens"}

type uiHandler struct {
	files fs.FS
	page  []byte
	csp   string
}

var inlineScript = regexp.MustCompile(`(?s)<script type="importmap">(.*?)</script>`)

// newUIHandler prepares the UI: the page, and a Content-Security-Policy that allows only
// Sextant's own scripts plus the page's inline import map, by hash.
func newUIHandler(files fs.FS) (*uiHandler, error) {
	if files == nil {
		return nil, fmt.Errorf("no web UI files")
	}
	page, err := fs.ReadFile(files, "index.html")
	if err != nil {
		return nil, fmt.Errorf("read web UI: %w", err)
	}
	src := "'self'"
	for _, m := range inlineScript.FindAllSubmatch(page, -1) {
		sum := sha256.Sum256(m[1])
		src += " 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	csp := "default-src 'self'; script-src " + src + "; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	return &uiHandler{files: files, page: page, csp: csp}, nil
}

func (u *uiHandler) headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", u.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

func (u *uiHandler) index() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.headers(w)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(u.page)
	})
}

func (u *uiHandler) static() http.Handler {
	fsrv := http.FileServerFS(u.files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.headers(w)
		w.Header().Set("Cache-Control", "no-cache") // revalidate: the binary's files change with each release
		if bytes.HasSuffix([]byte(r.URL.Path), []byte("/")) {
			http.NotFound(w, r) // no directory listings
			return
		}
		fsrv.ServeHTTP(w, r)
	})
}
