package model

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/parser"

	"github.com/batonhq/baton/internal/expr"
	"github.com/batonhq/baton/internal/script"
)

// Limits on the text of a definition (docs/workflow-json.md, "Limits").
const (
	// MaxIDLength bounds definition, node and edge ids, in characters.
	MaxIDLength = 255
	// MaxNameLength bounds names, in characters.
	MaxNameLength = 1000
	// MaxDocumentationBytes bounds a description (BPMN documentation).
	MaxDocumentationBytes = 64 << 10
)

// idProblem says why s cannot be an id, or "". Ids appear in URLs, logs,
// the UI and file names: no control characters (NUL included), no
// bidirectional overrides or isolates (which make text display in another
// order than it is read), no "/", at most MaxIDLength characters.
func idProblem(s string) string {
	if !utf8.ValidString(s) {
		return "the id is not valid UTF-8"
	}
	if n := utf8.RuneCountInString(s); n > MaxIDLength {
		return fmt.Sprintf("the id is %d characters long; the limit is %d", n, MaxIDLength)
	}
	for i, r := range s {
		switch {
		case r == 0:
			return fmt.Sprintf("the id holds a NUL character at byte %d", i)
		case r == '/':
			return fmt.Sprintf("the id holds a \"/\" at byte %d (ids appear in URL paths)", i)
		case isBidiControl(r):
			return fmt.Sprintf("the id holds the bidirectional control character U+%04X at byte %d (it makes text display in another order than it is read)", r, i)
		case unicode.IsControl(r):
			return fmt.Sprintf("the id holds the control character U+%04X at byte %d", r, i)
		}
	}
	return ""
}

// isBidiControl reports the embeddings, overrides and isolates of Unicode
// bidirectional text: U+202A–U+202E and U+2066–U+2069 (and the marks
// U+200E, U+200F, U+061C, invisible in ids).
func isBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x200E || r == 0x200F || r == 0x061C
}

// checkID refuses an id that breaks idProblem's rules.
func (b *builder) checkID(line int, node, field, id string) {
	if msg := idProblem(id); msg != "" {
		b.errf(line, node, field, "%s", msg)
	}
}

// checkTexts refuses a name or description over the limits.
func (b *builder) checkTexts(line int, node, name, desc string) {
	if n := utf8.RuneCountInString(name); n > MaxNameLength {
		b.errf(line, node, "name", "the name is %d characters long; the limit is %d", n, MaxNameLength)
	}
	if len(desc) > MaxDocumentationBytes {
		b.errf(line, node, "description", "the description (documentation) is %d bytes; the limit is %d", len(desc), MaxDocumentationBytes)
	}
}

// functions are the functions Baton expressions may call: expr-lang's
// builtins and the ones package expr defines.
var functions = func() map[string]bool {
	m := map[string]bool{"repeat": true}
	for name := range builtin.Index {
		m[name] = true
	}
	return m
}()

// unknownFunction returns the first function src calls that does not
// exist, with its column in the normalised expression, or "". An
// expression over JSON variables has no other callables, so such a call
// could only fail when it runs.
func unknownFunction(src string) (name string, col int) {
	tree, err := parser.Parse(expr.Normalize(src))
	if err != nil {
		return "", 0
	}
	v := &callFinder{}
	ast.Walk(&tree.Node, v)
	return v.name, v.col
}

type callFinder struct {
	name string
	col  int
}

func (v *callFinder) Visit(node *ast.Node) {
	c, ok := (*node).(*ast.CallNode)
	if !ok || v.name != "" {
		return
	}
	if id, ok := c.Callee.(*ast.IdentifierNode); ok && !knownFunction(id.Value) {
		v.name, v.col = id.Value, id.Location().From+1
	}
}

// knownFunction reports whether expressions may call name. Beyond the
// known set it asks package expr itself (a function it defines runs or
// complains about its arguments; an unknown one "is not defined"), so that
// a function expr adds is never refused here.
func knownFunction(name string) bool {
	if functions[name] {
		return true
	}
	p, err := expr.Compile(name + "()")
	if err != nil {
		return false
	}
	_, err = p.Eval(map[string]any{})
	return err == nil || !strings.Contains(err.Error(), "is not defined")
}

// compileScript compiles a JavaScript script task or condition at deploy,
// so that a syntax error is refused with its place instead of failing
// every instance that reaches it.
func (b *builder) compileScript(line int, node, field, src string) {
	if _, err := script.Compile(src); err != nil {
		msg := err.Error()
		if se, ok := err.(*script.Error); ok && se.Line > 0 {
			msg = fmt.Sprintf("line %d, column %d of the script: %s", se.Line, se.Column, se.Msg)
		}
		b.errf(line, node, field, "the script does not compile: %s", strings.TrimSpace(msg))
	}
}

// UnsupportedEventKinds are the event kinds Baton knows but does not
// execute, with the reason. Accepting them would be silent wrong
// behaviour, so definitions that use them are refused until the engine
// implements them. Every known kind is executed today (escalation and
// conditional since event sub-processes, compensate since compensation,
// compensation event sub-processes included).
var UnsupportedEventKinds = map[EventKind]string{}
