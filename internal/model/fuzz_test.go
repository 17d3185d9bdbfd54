package model

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseJSON feeds arbitrary bytes to ParseJSON. It must never panic
// and must either fail with a *ValidationError that names the file, or
// return a built definition whose own JSON parses again to the same
// shape.
//
//	go test -fuzz=FuzzParseJSON -fuzztime=60s ./internal/model
//
// Crashers are kept in testdata/fuzz/FuzzParseJSON and run by go test.
func FuzzParseJSON(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(examplesDir, "*.json"))
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	for _, tc := range badInputs {
		if len(tc.src) < 64<<10 { // the oversized seeds would only slow the fuzzer
			f.Add([]byte(tc.src))
		}
	}
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"id": "w", "nodes": null}`, `{"id": "w", "nodes": [null], "edges": [null]}`,
		wfDoc(wfStartEnd, wfFlowSE),
		wfDoc(wfStartEnd+`, `+sub, seq("s", "sub", "e")+`, {"id": "in", "source": "ss", "target": "se"}`),
		wfDoc(wfStartEnd+`, {"id": "g", "type": "inclusiveGateway", "default": "d"}, {"id": "j", "type": "inclusiveGateway"}`,
			`{"id": "f1", "source": "s", "target": "g"}, {"id": "c", "source": "g", "target": "j", "condition": "x"}, {"id": "d", "source": "g", "target": "j"}, {"id": "f2", "source": "j", "target": "e"}`),
		wfDoc(wfStartEnd+`, {"id": "t", "type": "userTask", "multiInstance": {"cardinality": "3"}}, {"id": "b", "type": "boundaryEvent", "attachedTo": "t", "event": {"kind": "timer", "timer": {"cycle": "R2/PT1M"}}}`,
			seq("s", "t", "e")+`, {"id": "x", "source": "b", "target": "e"}`),
		wfDoc(wfStartEnd+`, {"id": "lt", "type": "intermediateThrowEvent", "event": {"kind": "link", "name": "L"}}, {"id": "lc", "type": "intermediateCatchEvent", "event": {"kind": "link", "name": "L"}}`,
			seq("s", "lt")+`, {"id": "x", "source": "lc", "target": "e"}`),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseJSON("fuzz.json", data)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error is %T, want *ValidationError: %v", err, err)
			}
			if len(ve.Problems) == 0 {
				t.Fatal("ValidationError without problems")
			}
			for _, p := range ve.Problems {
				if p.File != "fuzz.json" || p.Message == "" || p.Warning {
					t.Fatalf("badly formed problem %#v", p)
				}
			}
			_ = err.Error()
			return
		}
		if d == nil || !d.Built() {
			t.Fatal("ParseJSON succeeded without a built definition")
		}
		// Every node and edge is reachable through the indexes.
		for _, n := range d.Nodes {
			if d.Node(n.ID) != n {
				t.Fatalf("node %q is not indexed", n.ID)
			}
		}
		for _, e := range d.Edges {
			if d.Edge(e.ID) != e || e.SourceNode() == nil || e.TargetNode() == nil {
				t.Fatalf("edge %q is not linked", e.ID)
			}
		}
		// What Baton writes, Baton reads.
		out, err := d.JSON()
		if err != nil {
			t.Fatalf("JSON: %v", err)
		}
		d2, err := ParseJSON("fuzz.json", out)
		if err != nil {
			t.Fatalf("the definition's own JSON does not parse: %v\n%s", err, out)
		}
		if len(d2.Nodes) != len(d.Nodes) || len(d2.Edges) != len(d.Edges) || len(d2.Warnings) != len(d.Warnings) {
			t.Fatalf("round trip changed the definition: %d/%d nodes, %d/%d edges, %d/%d warnings",
				len(d.Nodes), len(d2.Nodes), len(d.Edges), len(d2.Edges), len(d.Warnings), len(d2.Warnings))
		}
	})
}

// deepExpression is a workflow whose one condition nests depth
// parentheses: about 2*depth bytes, far under MaxSourceBytes.
func deepExpression(depth int) []byte {
	cond := strings.Repeat("(", depth) + "amount > 0" + strings.Repeat(")", depth)
	return []byte(wfDoc(wfStartEnd+`, {"id": "g", "type": "exclusiveGateway", "default": "d"}`,
		`{"id": "f1", "source": "s", "target": "g"}, {"id": "c", "source": "g", "target": "e", "condition": "`+cond+`"}, {"id": "d", "source": "g", "target": "e"}`))
}

// TestParseJSONDeeplyNestedExpression: a 1 MB condition of nested
// parentheses must be refused (or compiled), not crash the process. The
// parse runs in a child process because a Go stack overflow is fatal and
// cannot be recovered.
func TestParseJSONDeeplyNestedExpression(t *testing.T) {
	const depth = 500_000
	if os.Getenv("BATON_TEST_DEEP_EXPRESSION") == "1" {
		_, err := ParseJSON("deep.json", deepExpression(depth))
		var ve *ValidationError
		if err != nil && !errors.As(err, &ve) {
			t.Fatalf("error is %T: %v", err, err)
		}
		return
	}
	if testing.Short() {
		t.Skip("takes seconds and up to 1 GB of stack")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestParseJSONDeeplyNestedExpression$", "-test.v")
	cmd.Env = append(os.Environ(), "BATON_TEST_DEEP_EXPRESSION=1")
	out, err := cmd.CombinedOutput()
	if bytes.Contains(out, []byte("stack overflow")) {
		t.Fatalf("ParseJSON crashed the process (stack overflow) on a condition nesting %d parentheses", depth)
	}
	if err != nil {
		t.Fatalf("child process: %v\n%s", err, lastLines(out, 20))
	}
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
