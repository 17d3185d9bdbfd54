package expr

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/batonhq/baton/internal/feel"
)

// FEEL. An expression written "=..." is FEEL, as in every attribute of a
// Camunda 8 model: Compile hands the text after "=" to internal/feel.
// CompileFEEL also reads bare expressions as FEEL (a workflow that
// declares "expressionLanguage": "feel"). "${...}" and "#{...}" stay
// expr-lang in both.
//
// A FEEL program evaluates with FEEL's semantics: a missing variable is
// null, not an error; numbers are decimals. Results are converted to the
// values the engine keeps in variables (feel.Plain): numbers become
// float64, contexts map[string]any, dates, times and durations their ISO
// 8601 text.

// CompileFEEL is Compile with FEEL as the language of bare expressions.
func CompileFEEL(src string) (*Program, error) {
	if at, ok := feelStart(src); ok {
		return compileFEEL(src, at)
	}
	s := strings.TrimSpace(src)
	if (strings.HasPrefix(s, "${") || strings.HasPrefix(s, "#{")) && strings.HasSuffix(s, "}") {
		return Compile(src)
	}
	return compileFEEL(src, 0)
}

// feelStart reports whether src is "=..." and where the FEEL text after
// the "=" begins.
func feelStart(src string) (int, bool) {
	i := 0
	for i < len(src) && isSpace(src[i]) {
		i++
	}
	if i < len(src) && src[i] == '=' {
		return i + 1, true
	}
	return 0, false
}

func compileFEEL(src string, at int) (*Program, error) {
	body := src[at:]
	if strings.TrimSpace(body) == "" {
		return nil, &Error{Expr: src, Msg: "empty expression"}
	}
	x, err := feel.Compile(body)
	if err != nil {
		e := &Error{Expr: src, Msg: "FEEL: " + err.Error()}
		var fe *feel.Error
		if errors.As(err, &fe) {
			e.Msg = "FEEL: " + fe.Msg
			e.Line, e.Column = shift(src, at, fe.Line, fe.Column)
		}
		return nil, e
	}
	return &Program{src: src, feel: x}, nil
}

// shift converts a line and column within src[at:] to one within src.
func shift(src string, at, line, col int) (int, int) {
	before := src[:at]
	lines := strings.Count(before, "\n")
	if line == 1 {
		start := strings.LastIndexByte(before, '\n') + 1
		col += utf8.RuneCountInString(before[start:])
	}
	return line + lines, col
}

// IsFEEL reports whether the program is FEEL.
func (p *Program) IsFEEL() bool { return p.feel != nil }

// UnknownFunctions returns the functions a FEEL expression calls that FEEL
// does not define (see feel.Expr.UnknownFunctions); nil for expr-lang.
func (p *Program) UnknownFunctions() []string {
	if p.feel == nil {
		return nil
	}
	return p.feel.UnknownFunctions()
}

// EvalAt is Eval with now() and today() of a FEEL expression reading now
// (the engine passes its command time; it never reads the wall clock).
// expr-lang expressions have no clock and ignore it.
func (p *Program) EvalAt(vars map[string]any, now time.Time) (any, error) {
	if p.feel == nil {
		return p.Eval(vars)
	}
	v, err := p.evalFEEL(vars, now)
	if err != nil {
		return nil, err
	}
	return feel.Plain(v), nil
}

// BoolAt is Bool with the clock of EvalAt. A FEEL condition that is null
// (a variable is missing: "amount > 10" without amount) is false, as in
// Zeebe, where such a flow is simply not taken; any other non-boolean
// result is an error.
func (p *Program) BoolAt(vars map[string]any, now time.Time) (bool, error) {
	if p.feel == nil {
		return p.Bool(vars)
	}
	v, err := p.evalFEEL(vars, now)
	if err != nil {
		return false, err
	}
	switch b := v.(type) {
	case bool:
		return b, nil
	case nil:
		return false, nil
	}
	return false, &Error{Expr: p.src, Msg: fmt.Sprintf("FEEL: result is %s, want a boolean", describe(feel.Plain(v)))}
}

func (p *Program) evalFEEL(vars map[string]any, now time.Time) (any, error) {
	var v any
	var err error
	if now.IsZero() {
		v, err = p.feel.EvalValue(vars)
	} else {
		v, err = p.feel.EvalValue(vars, feel.WithNow(now))
	}
	if err != nil {
		return nil, &Error{Expr: p.src, Msg: "FEEL: " + err.Error()}
	}
	return v, nil
}
