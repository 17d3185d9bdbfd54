package bpmn

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/batonhq/baton/internal/model"
)

// FuzzParseBPMN feeds arbitrary bytes to Parse and Import. Neither may
// panic; every failure must be a located *model.ValidationError; and every
// definition that parses must export to XML that parses back to the same
// nodes and flows.
func FuzzParseBPMN(f *testing.F) {
	var seeds []string
	for _, pattern := range []string{
		"testdata/*.bpmn",
		filepath.Join(benchDir, "*.bpmn"),
		"../../../examples/*.bpmn",
		filepath.Join(corpusDir, "models/lib-bpmn-engine/subprocess-simple-link-events.bpmn"),
		filepath.Join(corpusDir, "models/bpmn-engine/boundary-non-interupting-timer.bpmn"),
		filepath.Join(corpusDir, "models/bpmn-engine/forms.bpmn"),
		filepath.Join(corpusDir, "models/bpmn-elements/event-based-gateway.bpmn"),
		filepath.Join(corpusDir, "models/bpmn-miwg/A.4.1.bpmn"),
		filepath.Join(corpusDir, "models/bpmn-miwg/C.9.1.bpmn"),
	} {
		m, _ := filepath.Glob(pattern)
		seeds = append(seeds, m...)
	}
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(doc(straight)))
	f.Add([]byte("jdalsk"))
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aa">]><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">&a;</definitions>`))
	f.Add([]byte(`<definitions xmlns="http://schema.omg.org/spec/BPMN/2.0"><process id="p"/></definitions>`))
	f.Add([]byte(doc(`<bpmn:subProcess id="s"><bpmn:subProcess id="t"><bpmn:startEvent id="x"/></bpmn:subProcess></bpmn:subProcess><bpmn:complexGateway id="c"/>`)))
	f.Add([]byte(`<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p"><task id="t"/></process></definitions>`))

	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := Import("fuzz.bpmn", data); err != nil {
			checkValidationError(t, "Import", err)
		}
		defs, err := Parse("fuzz.bpmn", data)
		if err != nil {
			checkValidationError(t, "Parse", err)
			return
		}
		for _, d := range defs {
			if !d.Built() {
				t.Fatalf("Parse returned %q unbuilt", d.ID)
			}
			xml, err := Export(d)
			if err != nil {
				t.Fatalf("Export(%q): %v", d.ID, err)
			}
			back, err := ParseOne("exported.bpmn", xml, d.ID)
			if err != nil {
				t.Fatalf("Parse(Export(%q)): %v\n%s", d.ID, err, xml)
			}
			if len(back.Nodes) != len(d.Nodes) || len(back.Edges) != len(d.Edges) {
				t.Fatalf("Parse(Export(%q)): %d nodes and %d flows, want %d and %d", d.ID, len(back.Nodes), len(back.Edges), len(d.Nodes), len(d.Edges))
			}
			for _, n := range d.Nodes {
				m := back.Node(n.ID)
				if m == nil || m.Type != n.Type || m.Parent != n.Parent {
					t.Fatalf("Parse(Export(%q)): node %q is %+v, want %+v", d.ID, n.ID, m, n)
				}
			}
			for _, e := range d.Edges {
				g := back.Edge(e.ID)
				if g == nil || g.Source != e.Source || g.Target != e.Target || g.Condition != e.Condition {
					t.Fatalf("Parse(Export(%q)): flow %q is %+v, want %+v", d.ID, e.ID, g, e)
				}
			}
		}
	})
}

func checkValidationError(t *testing.T, op string, err error) {
	t.Helper()
	var ve *model.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("%s error is %T, want *model.ValidationError: %v", op, err, err)
	}
	if len(ve.Problems) == 0 {
		t.Fatalf("%s returned a ValidationError without problems", op)
	}
	for _, p := range ve.Problems {
		if p.Message == "" || p.File != "fuzz.bpmn" {
			t.Fatalf("%s problem without message or file: %+v", op, p)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(benchDir, "seq10.bpmn"))
	if err != nil {
		b.Skipf("SKIP: %v", err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("seq10.bpmn", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExport(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(benchDir, "seq10.bpmn"))
	if err != nil {
		b.Skipf("SKIP: %v", err)
	}
	d, err := ParseOne("seq10.bpmn", data, "")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Export(d); err != nil {
			b.Fatal(err)
		}
	}
}
