package bpmn

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/model"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden is what testdata/<case>.golden.json records about
// testdata/<case>.bpmn: the parsed definitions with the line of every
// node and flow and the warnings, or the problems that rejected it.
type golden struct {
	Definitions []*model.Definition `json:"definitions,omitempty"`
	Lines       []map[string]int    `json:"lines,omitempty"`
	Warnings    [][]string          `json:"warnings,omitempty"`
	Problems    []model.Problem     `json:"problems,omitempty"`
}

// TestGolden parses each testdata/<case>.bpmn and compares the result with
// testdata/<case>.golden.json, and the export of each definition with
// testdata/<case>.golden.xml. Run with -update to rewrite them.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bpmn")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden inputs in testdata")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".bpmn")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var g golden
			var exports [][]byte
			defs, err := Parse(filepath.Base(file), src)
			var ve *model.ValidationError
			switch {
			case errors.As(err, &ve):
				g.Problems = ve.Problems
			case err != nil:
				t.Fatalf("Parse: %T %v", err, err)
			}
			for _, d := range defs {
				g.Definitions = append(g.Definitions, d)
				lines := map[string]int{}
				for _, n := range d.Nodes {
					lines[n.ID] = n.Line
				}
				for _, e := range d.Edges {
					lines[e.ID] = e.Line
				}
				g.Lines = append(g.Lines, lines)
				ws := []string{}
				for _, w := range d.Warnings {
					ws = append(ws, w.String())
				}
				g.Warnings = append(g.Warnings, ws)
				x, err := Export(d)
				if err != nil {
					t.Fatalf("Export(%s): %v", d.ID, err)
				}
				exports = append(exports, x)
			}
			got, err := json.MarshalIndent(g, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			compareGolden(t, strings.TrimSuffix(file, ".bpmn")+".golden.json", got)
			if len(exports) > 0 {
				compareGolden(t, strings.TrimSuffix(file, ".bpmn")+".golden.xml", bytes.Join(exports, []byte("\n")))
			}
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the parse (run go test -update and review the diff):\n%s", path, firstDiff(string(want), string(got)))
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + itoa(i+1) + ":\n  want: " + w + "\n  got:  " + g
		}
	}
	return "(no line differs)"
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
