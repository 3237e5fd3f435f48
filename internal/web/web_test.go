package web

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestEveryModuleResolves checks that the import map points at files the binary holds, and that
// every import in the UI's own modules is either mapped or a file that exists: a broken import
// would leave the UI blank with no server-side error.
func TestEveryModuleResolves(t *testing.T) {
	page, err := fs.ReadFile(FS(), "index.html")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)<script type="importmap">(.*?)</script>`).FindSubmatch(page)
	if m == nil {
		t.Fatal("index.html has no import map")
	}
	var importMap struct{ Imports map[string]string }
	if err := json.Unmarshal(m[1], &importMap); err != nil {
		t.Fatalf("import map: %v", err)
	}
	exists := func(url string) bool {
		_, err := fs.Stat(FS(), strings.TrimPrefix(url, "/"))
		return err == nil
	}
	for name, url := range importMap.Imports {
		if !exists(url) {
			t.Errorf("import map: %s → %s is missing", name, url)
		}
	}
	imports := regexp.MustCompile(`(?:\}|import\s+\w+)\s*from\s*"([^"]+)"`)
	err = fs.WalkDir(FS(), "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".js") || strings.HasSuffix(path, ".mjs")) {
			return err
		}
		src, _ := fs.ReadFile(FS(), path)
		for _, im := range imports.FindAllSubmatch(src, -1) {
			spec := string(im[1])
			switch {
			case importMap.Imports[spec] != "":
			case strings.HasPrefix(spec, "./"):
				dir := path[:strings.LastIndex(path, "/")]
				if !exists(dir + "/" + strings.TrimPrefix(spec, "./")) {
					t.Errorf("%s imports %s, which is missing", path, spec)
				}
			default:
				t.Errorf("%s imports %q, which the import map does not resolve", path, spec)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
