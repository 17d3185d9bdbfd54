package model

import (
	"errors"
	"strings"
	"testing"
)

// TestLoopValidation: a standard loop or a multi-instance output that
// cannot run as written is refused with the node and field.
func TestLoopValidation(t *testing.T) {
	node := func(n string) string {
		return `{"id":"l","nodes":[{"id":"s","type":"startEvent"},` + n + `,{"id":"e","type":"endEvent"}],
		 "edges":[{"id":"f1","source":"s","target":"x"},{"id":"f2","source":"x","target":"e"}]}`
	}
	cases := []struct {
		name, src, field, msg string
	}{
		{"loop without bound", node(`{"id":"x","type":"task","loop":{}}`), "loop", "needs a condition or a maximum"},
		{"negative maximum", node(`{"id":"x","type":"task","loop":{"maximum":-1}}`), "loop.maximum", "is negative"},
		{"maximum over the limit", node(`{"id":"x","type":"task","loop":{"maximum":20000}}`), "loop.maximum", "over the limit"},
		{"loop and multi-instance", node(`{"id":"x","type":"task","loop":{"maximum":2},"multiInstance":{"cardinality":"2"}}`), "loop", "either multi-instance or a standard loop"},
		{"loop on a gateway", node(`{"id":"x","type":"exclusiveGateway","loop":{"maximum":2}}`), "loop", "only activities can loop"},
		{"bad loop condition", node(`{"id":"x","type":"task","loop":{"condition":"= 1 +"}}`), "loop.condition", ""},
		{"output element alone", node(`{"id":"x","type":"task","multiInstance":{"cardinality":"2","outputElement":"=r"}}`), "multiInstance.outputCollection", "needs an output collection"},
		{"output collection alone", node(`{"id":"x","type":"task","multiInstance":{"cardinality":"2","outputCollection":"rs"}}`), "multiInstance.outputElement", "needs an output element"},
		{"output collection not a name", node(`{"id":"x","type":"task","multiInstance":{"cardinality":"2","outputCollection":"a.b","outputElement":"=r"}}`), "multiInstance.outputCollection", "is not a variable name"},
		{"bad output element", node(`{"id":"x","type":"task","multiInstance":{"cardinality":"2","outputCollection":"rs","outputElement":"= {a: "}}`), "multiInstance.outputElement", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseJSON("bad.json", []byte(c.src))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("ParseJSON = %v, want a validation error", err)
			}
			for _, p := range ve.Problems {
				if p.NodeID == "x" && p.Field == c.field && strings.Contains(p.Message, c.msg) {
					return
				}
			}
			t.Fatalf("no problem at x %s containing %q: %v", c.field, c.msg, err)
		})
	}
}

func TestOutputVariable(t *testing.T) {
	for src, want := range map[string]string{"=result": "result", " = r_2 ": "r_2", "result": "result", "=a.b": "", "={x: 1}": "", "=null": "", "=true": "", "": ""} {
		if got := (&MultiInstance{OutputElement: src}).OutputVariable(); got != want {
			t.Errorf("OutputVariable(%q) = %q, want %q", src, got, want)
		}
	}
}
