package expr_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/expr"
)

func TestTemplateRender(t *testing.T) {
	t.Parallel()
	v := map[string]any{
		"env":    map[string]any{"BASE": "https://pay.example.com"},
		"id":     "p-42",
		"amount": 1500.0,
		"rate":   0.25,
		"big":    1e21,
		"n":      7,
		"ok":     true,
		"tags":   []any{"a", "b"},
		"obj":    map[string]any{"k": 1.0},
	}
	tests := []struct {
		src, want string
	}{
		{"", ""},
		{"plain text", "plain text"},
		{"single { and } braces", "single { and } braces"},
		{"{{env.BASE}}/payouts/{{id}}", "https://pay.example.com/payouts/p-42"},
		{"{{ env.BASE }}/payouts/{{ id }}?x=1", "https://pay.example.com/payouts/p-42?x=1"},
		{"amount={{amount}} rate={{rate}} big={{big}} n={{n}} ok={{ok}}", "amount=1500 rate=0.25 big=1000000000000000000000 n=7 ok=true"},
		{"{{amount > 1000 ? 'high' : 'low'}}", "high"},
		{"{{amount = 1500}}", "true"},
		{"{{ 'a}}b' }}", "a}}b"},
		{"{{ {'k': 1}.k }}", "1"},
		{"{{tags}} {{obj}}", `["a","b"] {"k":1}`},
		{"{{id}}{{id}}", "p-42p-42"},
		{"x{{id}}", "xp-42"},
	}
	for _, tt := range tests {
		tpl, err := expr.CompileTemplate(tt.src)
		if err != nil {
			t.Errorf("CompileTemplate(%q) error: %v", tt.src, err)
			continue
		}
		got, err := tpl.Render(v)
		if err != nil {
			t.Errorf("Render(%q) error: %v", tt.src, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Render(%q) = %q, want %q", tt.src, got, tt.want)
		}
		if tpl.Source() != tt.src {
			t.Errorf("Source() = %q, want %q", tpl.Source(), tt.src)
		}
	}
}

func TestTemplateCompileError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src    string
		column int
		msg    string
	}{
		{"{{env.BASE}}/payouts/{{id", 22, "not closed"},
		{"{{}}", 0, "empty expression"},
		{"/x/{{ a > > 1 }}", 11, "unexpected token"},
	}
	for _, tt := range tests {
		_, err := expr.CompileTemplate(tt.src)
		var e *expr.Error
		if !errors.As(err, &e) {
			t.Errorf("CompileTemplate(%q) error = %v, want *expr.Error", tt.src, err)
			continue
		}
		if e.Expr != tt.src || !strings.Contains(e.Msg, tt.msg) || (tt.column != 0 && e.Column != tt.column) {
			t.Errorf("CompileTemplate(%q) error = %+v, want column %d message containing %q", tt.src, *e, tt.column, tt.msg)
		}
	}
}

func TestTemplateRenderError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src    string
		vars   map[string]any
		column int
		msg    string
	}{
		{"{{env.BASE}}/payouts/{{id}}", map[string]any{"env": map[string]any{}}, 0, "value is nil"},
		{"/payouts/{{id}}", map[string]any{}, 12, `variable "id" is not defined`},
		{"/payouts/{{ id }}", map[string]any{"id": nil}, 12, "value is nil"},
	}
	for _, tt := range tests {
		tpl, err := expr.CompileTemplate(tt.src)
		if err != nil {
			t.Errorf("CompileTemplate(%q) error: %v", tt.src, err)
			continue
		}
		_, err = tpl.Render(tt.vars)
		var e *expr.Error
		if !errors.As(err, &e) {
			t.Errorf("Render(%q) error = %v, want *expr.Error", tt.src, err)
			continue
		}
		if e.Expr != tt.src || !strings.Contains(e.Msg, tt.msg) || (tt.column != 0 && e.Column != tt.column) {
			t.Errorf("Render(%q) error = %+v, want column %d message containing %q", tt.src, *e, tt.column, tt.msg)
		}
	}
}
