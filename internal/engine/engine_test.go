package engine

import (
	"os"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/model"
)

func mustLoad(t *testing.T, path string) *model.Definition {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := model.ParseJSON(path, data)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustParse(t *testing.T, src string) *model.Definition {
	t.Helper()
	d, err := model.ParseJSON("test.json", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func start(t *testing.T, d *model.Definition, vars map[string]any) (*State, []Effect) {
	t.Helper()
	st, eff, err := Step(d, nil, Command{Kind: CmdStart, Time: t0, InstanceID: "i1", Variables: vars})
	if err != nil {
		t.Fatal(err)
	}
	return st, eff
}

func step(t *testing.T, d *model.Definition, st *State, c Command) (*State, []Effect) {
	t.Helper()
	if c.Time.IsZero() {
		c.Time = t0.Add(time.Second)
	}
	st, eff, err := Step(d, st, c)
	if err != nil {
		t.Fatalf("Step(%s %s): %v", c.Kind, c.Ref, err)
	}
	return st, eff
}

func find(eff []Effect, kind EffectKind) *Effect {
	for i := range eff {
		if eff[i].Kind == kind {
			return &eff[i]
		}
	}
	return nil
}

func completedIDs(st *State) []string {
	var out []string
	for _, h := range st.History {
		if h.Action == ActCompleted && h.NodeID != "" {
			out = append(out, h.NodeID)
		}
	}
	return out
}

func parseForBench(src string) (*model.Definition, error) {
	return model.ParseJSON("bench.json", []byte(src))
}
