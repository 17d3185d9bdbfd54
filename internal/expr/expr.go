// Package expr compiles and evaluates the expressions of a workflow:
// sequence-flow conditions, input/output mappings, assignments and timer
// values. Expressions use the expr-lang language; three spellings are
// accepted so that models from other tools work unchanged:
//
//	amount > 1000        bare
//	${amount > 1000}     Camunda 7 style
//	=amount > 1000       Zeebe / FEEL style
//
// A single "=" between operands (FEEL equality, "price = 0") is read as "==".
// Expressions are compiled once, when a definition is built, and evaluated
// many times over an instance's variables.
package expr

import (
	"errors"
	"fmt"
	"strings"

	exprlang "github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// Program is a compiled expression. It is safe for concurrent use.
type Program struct {
	src  string
	prog *vm.Program
}

// Error is a compile or evaluation error with the expression it concerns.
type Error struct {
	Expr   string // the expression as written
	Column int    // 1-based column in Expr, 0 when unknown
	Msg    string
}

func (e *Error) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("expression %q: column %d: %s", e.Expr, e.Column, e.Msg)
	}
	return fmt.Sprintf("expression %q: %s", e.Expr, e.Msg)
}

// Normalize strips the ${...} or leading = wrapper and rewrites FEEL's
// single "=" to "==". It returns the expression body expr-lang compiles.
func Normalize(src string) string {
	s := strings.TrimSpace(src)
	if strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}") {
		s = strings.TrimSpace(s[2 : len(s)-1])
	} else if strings.HasPrefix(s, "#{") && strings.HasSuffix(s, "}") {
		s = strings.TrimSpace(s[2 : len(s)-1])
	} else if strings.HasPrefix(s, "=") {
		s = strings.TrimSpace(s[1:])
	}
	return feelEquals(s)
}

// feelEquals rewrites a lone "=" (not part of ==, !=, <=, >=) outside
// string literals to "==".
func feelEquals(s string) string {
	if !strings.Contains(s, "=") {
		return s
	}
	var b strings.Builder
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if quote != 0 {
			b.WriteByte(c)
			if c == '\\' && i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			} else if c == quote {
				quote = 0
			}
			continue
		}
		switch c {
		case '"', '\'', '`':
			quote = c
		case '=':
			prev := byte(0)
			if i > 0 {
				prev = s[i-1]
			}
			next := byte(0)
			if i+1 < len(s) {
				next = s[i+1]
			}
			if prev != '=' && prev != '!' && prev != '<' && prev != '>' && next != '=' {
				b.WriteString("==")
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Compile parses src. An empty expression is an error.
func Compile(src string) (*Program, error) {
	body := Normalize(src)
	if body == "" {
		return nil, &Error{Expr: src, Msg: "empty expression"}
	}
	p, err := compileSafe(body)
	if err != nil {
		return nil, toError(src, err)
	}
	return &Program{src: src, prog: p}, nil
}

func compileSafe(body string) (p *vm.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot compile: %v", r)
		}
	}()
	return exprlang.Compile(body)
}

// MustCompile is Compile that panics; for tests and constants only.
func MustCompile(src string) *Program {
	p, err := Compile(src)
	if err != nil {
		panic(err)
	}
	return p
}

// Source returns the expression as written.
func (p *Program) Source() string { return p.src }

// Eval evaluates the expression over vars. Evaluation never panics; a
// missing variable or a type mismatch is an *Error.
func (p *Program) Eval(vars map[string]any) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, &Error{Expr: p.src, Msg: fmt.Sprint(r)}
		}
	}()
	if vars == nil {
		vars = map[string]any{}
	}
	out, err := exprlang.Run(p.prog, vars)
	if err != nil {
		return nil, toError(p.src, err)
	}
	return out, nil
}

// Bool evaluates the expression and requires a boolean result.
func (p *Program) Bool(vars map[string]any) (bool, error) {
	v, err := p.Eval(vars)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, &Error{Expr: p.src, Msg: fmt.Sprintf("result is %T, want bool", v)}
	}
	return b, nil
}

func toError(src string, err error) *Error {
	var fe interface{ Error() string }
	fe = err
	msg := fe.Error()
	// expr-lang's file.Error carries a column; keep only its first line.
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	e := &Error{Expr: src, Msg: msg}
	var ce interface{ Unwrap() error }
	_ = errors.As(err, &ce)
	return e
}
