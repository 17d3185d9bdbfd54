package model

import (
	"strings"
	"testing"
)

// TestExpressionLanguageFEEL: "expressionLanguage": "feel" makes bare
// expressions FEEL; "=..." is FEEL and "${...}" expr-lang either way.
func TestExpressionLanguageFEEL(t *testing.T) {
	doc := func(lang string) string {
		src := wfTask(`{"id": "t", "type": "task", "inputs": [
 {"source": "string length(name) > 3", "target": "a"},
 {"source": "= string length(name) > 3", "target": "b"},
 {"source": "${len(name) > 3}", "target": "c"}]}`)
		if lang != "" {
			src = strings.Replace(src, `{"id": "w",`, `{"id": "w", "expressionLanguage": "`+lang+`",`, 1)
		}
		return src
	}
	d, err := ParseJSON("w.json", []byte(doc("feel")))
	if err != nil {
		t.Fatal(err)
	}
	n := d.Node("t")
	for i, feel := range []bool{true, true, false} {
		p := n.Expr("input:" + string(rune('0'+i)))
		if p == nil || p.IsFEEL() != feel {
			t.Errorf("input %d: FEEL %v, want %v", i, p != nil && p.IsFEEL(), feel)
			continue
		}
		if v, err := p.Eval(map[string]any{"name": "John"}); err != nil || v != true {
			t.Errorf("input %d = %v, %v; want true", i, v, err)
		}
	}
	// Without it, the bare FEEL is not expr-lang and is refused.
	if _, err := ParseJSON("w.json", []byte(doc(""))); err == nil || !strings.Contains(err.Error(), "inputs[0].source") {
		t.Errorf("bare FEEL without expressionLanguage: %v", err)
	}
}
