package feel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

type corpusCase struct {
	ID         string          `json:"id"`
	Group      string          `json:"group"`
	Kind       string          `json:"kind"`
	Expression string          `json:"expression"`
	Input      json.RawMessage `json:"input"`
	Variables  json.RawMessage `json:"variables"`
	Expect     string          `json:"expect"`
	Result     json.RawMessage `json:"result"`
	Test       string          `json:"test"`
}

func decodeJSON(raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return FromJSON(v), nil
}

// corpusNow is the clock of the corpus run.
var corpusNow = time.Date(2024, 8, 20, 10, 30, 0, 0, time.UTC)

// runCase returns "" when the case passes, or why it fails.
func runCase(c corpusCase) (reason string) {
	vars := map[string]any{}
	if v, err := decodeJSON(c.Variables); err != nil {
		return "bad variables: " + err.Error()
	} else if ctx, ok := v.(*Context); ok {
		for _, k := range ctx.keys {
			vars[k] = ctx.vals[k]
		}
	}
	var got any
	var err error
	if c.Kind == "unaryTests" {
		input, derr := decodeJSON(c.Input)
		if derr != nil {
			return "bad input: " + derr.Error()
		}
		var u *UnaryTests
		if u, err = CompileUnaryTests(c.Expression); err == nil {
			got, err = u.Eval(input, vars, WithNow(corpusNow))
		}
	} else {
		var x *Expr
		if x, err = Compile(c.Expression); err == nil {
			got, err = x.EvalValue(vars, WithNow(corpusNow))
		}
	}
	switch c.Expect {
	case "error":
		if err == nil {
			return fmt.Sprintf("expected an error, got %s", describe(got))
		}
		return ""
	case "null":
		if err != nil {
			return "expected null, got error: " + err.Error()
		}
		if got != nil {
			return fmt.Sprintf("expected null, got %s", describe(got))
		}
		return ""
	}
	if err != nil {
		return "error: " + err.Error()
	}
	want, derr := decodeJSON(c.Result)
	if derr != nil {
		return "bad result: " + derr.Error()
	}
	if !sameValue(got, want) {
		return fmt.Sprintf("expected %s, got %s", describe(want), describe(got))
	}
	return ""
}

// sameValue compares as the corpus README advises.
func sameValue(got, want any) bool {
	switch w := want.(type) {
	case Time:
		g, ok := got.(Time)
		return ok && g.HasOffset == w.HasOffset && g.nanos() == w.nanos() && g.Offset == w.Offset && (w.Zone == "" || g.Zone == w.Zone)
	case DateTime:
		g, ok := got.(DateTime)
		if !ok || g.Zoned != w.Zoned || !wall(g.T).Equal(wall(w.T)) {
			return false
		}
		_, go_ := g.T.Zone()
		_, wo := w.T.Zone()
		return go_ == wo && (w.Zone == "" || g.Zone == w.Zone)
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !sameValue(g[i], w[i]) {
				return false
			}
		}
		return true
	case *Context:
		g, ok := got.(*Context)
		if !ok || len(g.keys) != len(w.keys) {
			return false
		}
		for _, k := range w.keys {
			gv, found := g.vals[k]
			if !found || !sameValue(gv, w.vals[k]) {
				return false
			}
		}
		return true
	}
	eq, ok := equal(got, want)
	return ok && eq
}

func loadCorpus(t testing.TB) []corpusCase {
	data, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []corpusCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Cases
}

// TestConformance runs the feel-scala corpus; at least 97% must pass.
// FEEL_CORPUS_REPORT=file writes the failures as a Markdown list.
func TestConformance(t *testing.T) {
	cases := loadCorpus(t)
	var failed []string
	for _, c := range cases {
		if reason := runCase(c); reason != "" {
			failed = append(failed, fmt.Sprintf("- `%s` `%s`: %s", c.ID, oneLine(c.Expression), reason))
		}
	}
	passed := len(cases) - len(failed)
	rate := 100 * float64(passed) / float64(len(cases))
	t.Logf("FEEL conformance: %d of %d cases pass (%.1f%%)", passed, len(cases), rate)
	sort.Strings(failed)
	if path := os.Getenv("FEEL_CORPUS_REPORT"); path != "" {
		report := fmt.Sprintf("%d of %d cases pass (%.1f%%)\n\n%s\n", passed, len(cases), rate, strings.Join(failed, "\n"))
		if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if rate < 97 {
		for _, f := range failed {
			t.Log(f)
		}
		t.Fatalf("pass rate %.1f%% is below 97%%", rate)
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(clip(s, 90), "`", "'")
}
