package feel

import "fmt"

// UnaryTests is a compiled list of unary tests, the input entry of a
// decision table: "-", "< 10", "[1..5], > 100", "not(\"a\", \"b\")",
// "? > x", "starts with(?, \"A\")".
type UnaryTests struct {
	src   string
	any   bool // "-"
	not   bool
	tests []*unaryTest
}

type unaryTest struct {
	op       string // a comparison, or "" for a value or expression
	x        node
	literal  bool // a literal: the input must equal it
	useInput bool // the expression reads "?"
}

// CompileUnaryTests parses unary tests.
func CompileUnaryTests(src string) (*UnaryTests, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	u := &UnaryTests{src: src}
	if len(toks) == 2 && toks[0].is("-") {
		u.any = true
		return u, nil
	}
	p := &parser{src: src, toks: toks}
	if p.isWord("not") && p.peekAt(1).is("(") {
		p.i += 2
		tests := p.unaryTests()
		if p.err == nil && p.peek().is(")") && p.peekAt(1).kind == tEOF {
			u.not = true
			u.tests = tests
			return u, nil
		}
		p = &parser{src: src, toks: toks}
	}
	if p.peek().kind == tEOF {
		return nil, errorAt(src, 0, "empty unary tests")
	}
	u.tests = p.unaryTests()
	if p.err == nil && p.peek().kind != tEOF {
		p.fail(p.peek(), "unexpected %s", describeTok(p.peek()))
	}
	if p.err != nil {
		return nil, p.err
	}
	return u, nil
}

func (p *parser) unaryTests() []*unaryTest {
	var tests []*unaryTest
	for {
		start := p.i
		t := &unaryTest{}
		tok := p.peek()
		if tok.kind == tOp && cmpOps[tok.text] {
			p.next()
			t.op = tok.text
			t.x = p.additive()
		} else {
			t.x = p.expression()
			_, t.literal = t.x.(*lit)
		}
		if p.err != nil {
			return nil
		}
		for _, tk := range p.toks[start:p.i] {
			if tk.is("?") {
				t.useInput = true
			}
		}
		tests = append(tests, t)
		if !p.peek().is(",") {
			return tests
		}
		p.next()
	}
}

// Source returns the tests' text.
func (u *UnaryTests) Source() string { return u.src }

// Test reports whether input passes the tests; null counts as false.
func (u *UnaryTests) Test(input any, vars map[string]any, opts ...Option) (bool, error) {
	v, err := u.Eval(input, vars, opts...)
	return v == true, err
}

// Eval applies the tests to input: true, false or nil (null: the input
// is not comparable with the tests).
func (u *UnaryTests) Eval(input any, vars map[string]any, opts ...Option) (any, error) {
	if u.any {
		return true, nil
	}
	e := newEnv(vars, opts)
	e.input = toValue(input)
	e.hasInput = true
	var res any = false
	for _, t := range u.tests {
		r := t.eval(e)
		if e.err != nil {
			return nil, e.err
		}
		if r == true {
			res = true
			break
		}
		if r == nil {
			res = nil
		}
	}
	if u.not {
		if b, ok := res.(bool); ok {
			return !b, nil
		}
	}
	return res, nil
}

func (t *unaryTest) eval(e *env) any {
	v := ev(e, nil, t.x)
	x := e.input
	switch {
	case t.op != "":
		return compareOp(t.op, x, v)
	case t.literal:
		return matchValue(x, v)
	}
	switch y := v.(type) {
	case bool:
		return y
	case *Range:
		return matchValue(x, y)
	}
	if t.useInput {
		return nil
	}
	return matchValue(x, v)
}

// String describes the tests for messages.
func (u *UnaryTests) String() string { return fmt.Sprintf("unary tests %q", u.src) }
