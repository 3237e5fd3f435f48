package evaluation

import (
	"os"
	"path/filepath"
	"testing"
)

// datasetDir is a data set's folder under ../shared/datasets beside the repository; where it is
// absent the test skips, saying what it needs, so that the project's tests pass without it.
func datasetDir(t testing.TB, what string, path ...string) string {
	dir := filepath.Join(append([]string{"..", "..", "..", "shared", "datasets"}, path...)...)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("%s is not at %s: the evaluation regression check needs it", what, dir)
	}
	return dir
}
