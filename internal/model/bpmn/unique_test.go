package bpmn

import (
	"strings"
	"testing"
)

func TestParseUniqueBusinessKey(t *testing.T) {
	withAttr := func(v string) string {
		return strings.Replace(doc(straight), `isExecutable="true"`, `isExecutable="true" baton:uniqueBusinessKey="`+v+`"`, 1)
	}
	for _, c := range []struct {
		src  string
		want bool
	}{{doc(straight), false}, {withAttr("true"), true}, {withAttr("false"), false}} {
		defs, err := Parse("p.bpmn", []byte(c.src))
		if err != nil {
			t.Fatalf("Parse() = %v", err)
		}
		if got := defs[0].UniqueBusinessKey; got != c.want {
			t.Errorf("UniqueBusinessKey = %v, want %v", got, c.want)
		}
		// It survives export and import.
		out, err := Export(defs[0])
		if err != nil {
			t.Fatalf("Export() = %v", err)
		}
		again, err := Parse("again.bpmn", out)
		if err != nil || again[0].UniqueBusinessKey != c.want {
			t.Errorf("after export: UniqueBusinessKey = %v, %v; want %v\n%s", again[0].UniqueBusinessKey, err, c.want, out)
		}
	}
	_, err := Parse("p.bpmn", []byte(withAttr("yes")))
	if err == nil || !strings.Contains(err.Error(), `baton:uniqueBusinessKey "yes" is not a boolean`) || !strings.Contains(err.Error(), "p.bpmn:") {
		t.Errorf("Parse(uniqueBusinessKey=yes) = %v, want a located error naming the attribute", err)
	}
}
