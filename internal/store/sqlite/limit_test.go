package sqlite

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestNoBareLimitParameter: no statement of the store takes its LIMIT or
// OFFSET from a bare parameter, which makes SQLite recompile a cached
// statement on every run once it has been recompiled once (see
// maxCachedStmts).
func TestNoBareLimitParameter(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	bare := regexp.MustCompile(`(?i)\b(LIMIT|OFFSET)\s+\?(\s*$|\s*[^\s+]|\s+[^+\s])`)
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			if strings.Contains(line, "LIMIT ?") {
				checked++
			}
			if bare.MatchString(line) {
				t.Errorf("%s:%d: a bare LIMIT/OFFSET parameter, write `? + 0`: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
	if checked == 0 {
		t.Fatal("found no LIMIT parameter at all: the test reads the wrong files")
	}
}
