package bpmn

import (
	"encoding/json"
	"github.com/batonhq/baton/internal/corpus"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/model"
)

// benchDir holds the shared benchmark models.
const benchDir = "../../../../shared/bench"

// roundTripSources lists the models the round-trip test exports and reads
// back: the executable corpus models, the benchmark models, the
// project's examples and this package's golden inputs.
func roundTripSources(t *testing.T) []string {
	t.Helper()
	var files []string
	if m, err := corpus.Load(); err == nil {
		for _, e := range m.Models {
			if e.Kind == "executable" {
				files = append(files, e.Path())
			}
		}
	} else {
		t.Logf("no corpus at %s: round trip without it", corpusDir)
	}
	for _, pattern := range []string{filepath.Join(benchDir, "*.bpmn"), "../../../examples/*.bpmn", "testdata/*.bpmn", "../../conformance/testdata/*.bpmn"} {
		m, _ := filepath.Glob(pattern)
		files = append(files, m...)
	}
	return files
}

// TestRoundTrip exports every definition it can parse and parses the
// export again: the two definitions must be the same.
func TestRoundTrip(t *testing.T) {
	n := 0
	for _, file := range roundTripSources(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		defs, err := Parse(filepath.Base(file), data)
		if err != nil {
			if strings.HasPrefix(file, "testdata") {
				continue // golden cases of rejected input
			}
			t.Errorf("%s: %v", file, err)
			continue
		}
		for _, d := range defs {
			n++
			xml, err := Export(d)
			if err != nil {
				t.Errorf("%s: Export(%s): %v", file, d.ID, err)
				continue
			}
			back, err := ParseOne("exported.bpmn", xml, "")
			if err != nil {
				t.Errorf("%s: Parse(Export(%s)): %v\n%s", file, d.ID, err, xml)
				continue
			}
			if diff := compareDefinitions(d, back); diff != "" {
				t.Errorf("%s: Parse(Export(%s)) differs: %s\n%s", file, d.ID, diff, xml)
			}
		}
	}
	t.Logf("%d definitions exported and read back", n)
}

// compareDefinitions reports the first difference between two definitions:
// structure first (ids, types, scopes, flows, conditions), then every other
// field through the workflow JSON. Mapping sources compare as expressions:
// Export writes them in Zeebe's "=expr" form.
func compareDefinitions(a, b *model.Definition) string {
	if a.ID != b.ID || a.Name != b.Name || a.Description != b.Description {
		return "process id, name or documentation"
	}
	if len(a.Nodes) != len(b.Nodes) {
		return "node count"
	}
	byID := map[string]*model.Node{}
	for _, n := range b.Nodes {
		byID[n.ID] = n
	}
	for _, n := range a.Nodes {
		m := byID[n.ID]
		switch {
		case m == nil:
			return "node " + n.ID + " lost"
		case m.Type != n.Type:
			return "type of " + n.ID
		case m.Parent != n.Parent:
			return "parent of " + n.ID
		case m.AttachedTo != n.AttachedTo || m.Default != n.Default:
			return "attachment or default flow of " + n.ID
		}
	}
	if len(a.Edges) != len(b.Edges) {
		return "edge count"
	}
	// Edges of a sub-process are written inside it, so document order may
	// change across scopes; what must stay is each node's order of
	// outgoing flows (an exclusive gateway tries them in that order).
	edgeByID := map[string]*model.Edge{}
	for _, e := range b.Edges {
		edgeByID[e.ID] = e
	}
	for _, e := range a.Edges {
		f := edgeByID[e.ID]
		if f == nil || e.Source != f.Source || e.Target != f.Target || e.Condition != f.Condition || e.Name != f.Name {
			return "edge " + e.ID
		}
	}
	if outgoingOrder(a) != outgoingOrder(b) {
		return "order of outgoing flows"
	}
	ja, jb := normalizedJSON(a), normalizedJSON(b)
	if ja != jb {
		return "JSON:\n" + ja + "\nvs\n" + jb
	}
	return ""
}

func normalizedJSON(d *model.Definition) string {
	c := *d
	c.Nodes = nil
	for _, n := range d.Nodes {
		m := *n
		m.Inputs = normalizeMappings(n.Inputs)
		m.Outputs = normalizeMappings(n.Outputs)
		c.Nodes = append(c.Nodes, &m)
	}
	// Nodes of a sub-process are written inside it, so document order
	// may change; compare them by id.
	byID := map[string]*model.Node{}
	for _, n := range c.Nodes {
		byID[n.ID] = n
	}
	edges := map[string]*model.Edge{}
	for _, e := range c.Edges {
		edges[e.ID] = e
	}
	b, _ := json.MarshalIndent(struct {
		Nodes map[string]*model.Node `json:"nodes"`
		Edges map[string]*model.Edge `json:"edges"`
	}{byID, edges}, "", "  ")
	return string(b)
}

func outgoingOrder(d *model.Definition) string {
	out := map[string][]string{}
	for _, e := range d.Edges {
		out[e.Source] = append(out[e.Source], e.ID)
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func normalizeMappings(ms []model.Mapping) []model.Mapping {
	var out []model.Mapping
	for _, m := range ms {
		out = append(out, model.Mapping{Source: exprBody(m.Source), Target: m.Target})
	}
	return out
}
