package dmn

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/batonhq/baton/internal/expr"
)

// This file reads the FEEL subset Baton supports: unary tests in input
// entries and literals in output entries and output values. The grammar,
// informally:
//
//	entry     = "" | "-" | "not" "(" tests ")" | tests
//	tests     = test { "," test }
//	test      = op endpoint | interval | endpoint
//	op        = "<" | "<=" | ">" | ">=" | "=" | "!="
//	interval  = ( "[" | "(" | "]" ) endpoint ".." endpoint ( "]" | ")" | "[" )
//	endpoint  = number | "-" number | string | "true" | "false" | "null"
//	          | "date" "(" string ")" | "date and time" "(" string ")"
//	          | "duration" "(" string ")" | name { "." name }
//
// Everything else FEEL has (arithmetic, function calls, quantifiers,
// if/for, contexts, list literals, "?") is refused with a message that
// names the construct.

// maxEntryLen bounds the text of one entry.
const maxEntryLen = 64 << 10

// feelError is a problem in one entry, at a byte offset of its text.
type feelError struct {
	off int
	msg string
	err error // underlying error, e.g. an *expr.Error from a variable
}

func errAt(off int, format string, args ...any) *feelError {
	return &feelError{off: off, msg: fmt.Sprintf(format, args...)}
}

type tokKind uint8

const (
	tkEOF tokKind = iota
	tkNumber
	tkString
	tkName
	tkCompare  // < <= > >= = !=
	tkLBracket // [
	tkRBracket // ]
	tkLParen   // (
	tkRParen   // )
	tkRange    // ..
	tkComma    // ,
	tkMinus    // -
	tkOther    // any other character: + * / { } : ? ...
)

type token struct {
	kind tokKind
	off  int    // byte offset in the entry
	text string // as written
	num  float64
	str  string // decoded string literal
}

func (t token) String() string {
	switch t.kind {
	case tkEOF:
		return "end of entry"
	case tkString:
		return "string " + clip(t.text, 30)
	case tkName:
		return fmt.Sprintf("name %q", clip(t.text, 30))
	case tkNumber:
		return "number " + clip(t.text, 30)
	}
	return fmt.Sprintf("%q", t.text)
}

func isNameStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }
func isNamePart(r rune) bool  { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// lex splits an entry into tokens. The last token is always tkEOF.
func lex(src string) ([]token, *feelError) {
	if len(src) > maxEntryLen {
		return nil, errAt(0, "entry is longer than %d bytes", maxEntryLen)
	}
	if !utf8.ValidString(src) {
		return nil, errAt(0, "entry is not valid UTF-8")
	}
	var toks []token
	i := 0
	for i < len(src) {
		r, size := utf8.DecodeRuneInString(src[i:])
		start := i
		switch {
		case unicode.IsSpace(r):
			i += size
			continue
		case r >= '0' && r <= '9' || r == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9' && !(i > 0 && src[i-1] == '.'):
			j := i
			for j < len(src) && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			if j+1 < len(src) && src[j] == '.' && src[j+1] >= '0' && src[j+1] <= '9' {
				j++
				for j < len(src) && src[j] >= '0' && src[j] <= '9' {
					j++
				}
			}
			f, err := strconv.ParseFloat(src[i:j], 64)
			if err != nil || math.IsInf(f, 0) {
				return nil, errAt(i, "number %s is out of range", clip(src[i:j], 30))
			}
			toks = append(toks, token{kind: tkNumber, off: i, text: src[i:j], num: f})
			i = j
			continue
		case r == '"':
			s, n, err := lexString(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tkString, off: i, text: src[i : i+n], str: s})
			i += n
			continue
		case r == '\'' || r == '‘' || r == '’':
			return nil, errAt(i, "strings are written in double quotes in FEEL: \"text\"")
		case r == '“' || r == '”':
			return nil, errAt(i, "typographic quote %c; FEEL strings use straight double quotes \"text\"", r)
		case isNameStart(r):
			j := i + size
			for j < len(src) {
				r2, s2 := utf8.DecodeRuneInString(src[j:])
				if isNamePart(r2) {
					j += s2
					continue
				}
				if r2 == '.' && j+1 < len(src) {
					if r3, _ := utf8.DecodeRuneInString(src[j+1:]); isNameStart(r3) {
						j++
						continue
					}
				}
				break
			}
			toks = append(toks, token{kind: tkName, off: i, text: src[i:j]})
			i = j
			continue
		}
		kind, n := tkOther, size
		switch {
		case strings.HasPrefix(src[i:], ".."):
			kind, n = tkRange, 2
		case strings.HasPrefix(src[i:], "<="), strings.HasPrefix(src[i:], ">="), strings.HasPrefix(src[i:], "!="):
			kind, n = tkCompare, 2
		case strings.HasPrefix(src[i:], "=="):
			return nil, errAt(i, `"==" is not FEEL; write = "value" or just the value`)
		case r == '<' || r == '>' || r == '=':
			kind = tkCompare
		case r == '[':
			kind = tkLBracket
		case r == ']':
			kind = tkRBracket
		case r == '(':
			kind = tkLParen
		case r == ')':
			kind = tkRParen
		case r == ',':
			kind = tkComma
		case r == '-':
			kind = tkMinus
		}
		toks = append(toks, token{kind: kind, off: start, text: src[i : i+n]})
		i += n
	}
	return append(toks, token{kind: tkEOF, off: len(src)}), nil
}

// lexString reads the string literal starting at src[at] (a double
// quote). It returns the decoded value and the literal's length in bytes.
func lexString(src string, at int) (string, int, *feelError) {
	var b strings.Builder
	i := at + 1
	for i < len(src) {
		c := src[i]
		switch c {
		case '"':
			return b.String(), i + 1 - at, nil
		case '\\':
			if i+1 >= len(src) {
				return "", 0, errAt(i, "unterminated escape sequence")
			}
			e := src[i+1]
			switch e {
			case '"', '\\', '\'':
				b.WriteByte(e)
				i += 2
			case 'n':
				b.WriteByte('\n')
				i += 2
			case 'r':
				b.WriteByte('\r')
				i += 2
			case 't':
				b.WriteByte('\t')
				i += 2
			case 'u', 'U':
				n := 4
				if e == 'U' {
					n = 6
				}
				if i+2+n > len(src) {
					return "", 0, errAt(i, "\\%c needs %d hex digits", e, n)
				}
				v, err := strconv.ParseUint(src[i+2:i+2+n], 16, 32)
				if err != nil || !utf8.ValidRune(rune(v)) {
					return "", 0, errAt(i, "bad escape \\%c%s", e, src[i+2:i+2+n])
				}
				b.WriteRune(rune(v))
				i += 2 + n
			default:
				return "", 0, errAt(i, "unknown escape sequence \\%c", e)
			}
		default:
			b.WriteByte(c)
			i++
		}
	}
	return "", 0, errAt(at, "string is not closed: missing \"")
}

// unaryTests is a compiled input entry.
type unaryTests struct {
	src   string
	any   bool // "-" or empty
	not   bool // not(tests)
	tests []test
}

// test is one positive unary test: a comparison with an endpoint, or an
// interval.
type test struct {
	op     string // "=", "!=", "<", "<=", ">", ">=", or ".." for an interval
	lo, hi *endpoint
	loOpen bool
	hiOpen bool
	off    int
}

// endpoint is a constant or a variable read.
type endpoint struct {
	val  any // constant; valid when prog is nil
	prog *expr.Program
	off  int
	text string
}

func (e *endpoint) value(vars map[string]any) (any, *feelError) {
	if e.prog == nil {
		return e.val, nil
	}
	v, err := e.prog.Eval(vars)
	if err != nil {
		msg := err.Error()
		var ee *expr.Error
		if errors.As(err, &ee) {
			msg = ee.Msg
		}
		return nil, &feelError{off: e.off, msg: msg, err: err}
	}
	return normalize(v), nil
}

type parser struct {
	src  string
	toks []token
	i    int
	col  typ // the input column's type, for checking constants
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tkEOF {
		p.i++
	}
	return t
}

// parseUnaryTests compiles an input entry for a column of type col.
func parseUnaryTests(src string, col typ) (*unaryTests, *feelError) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	u := &unaryTests{src: src}
	p := &parser{src: src, toks: toks, col: col}
	switch {
	case toks[0].kind == tkEOF:
		u.any = true
		return u, nil
	case toks[0].kind == tkMinus && toks[1].kind == tkEOF:
		u.any = true
		return u, nil
	case toks[0].kind == tkName && toks[0].text == "not" && toks[1].kind == tkLParen:
		p.i = 2
		u.not = true
		if u.tests, err = p.list(tkRParen); err != nil {
			return nil, err
		}
		if t := p.next(); t.kind != tkRParen {
			return nil, p.unexpected(t, tkRParen)
		}
		if t := p.peek(); t.kind != tkEOF {
			return nil, errAt(t.off, "not(...) must be the whole entry; unexpected %s after it", t)
		}
		return u, nil
	}
	if u.tests, err = p.list(tkEOF); err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tkEOF {
		return nil, p.unexpected(t, tkEOF)
	}
	return u, nil
}

// list reads tests separated by commas, up to (not including) end.
func (p *parser) list(end tokKind) ([]test, *feelError) {
	var tests []test
	for {
		if t := p.peek(); t.kind == end || t.kind == tkEOF || t.kind == tkComma {
			if len(tests) == 0 && t.kind != tkComma {
				return nil, errAt(t.off, "a test is missing inside not()")
			}
			return nil, errAt(t.off, "a test is missing before %s", t)
		}
		t, err := p.test()
		if err != nil {
			return nil, err
		}
		tests = append(tests, t)
		if p.peek().kind != tkComma {
			return tests, nil
		}
		p.next()
	}
}

// unexpected explains a token where a comma or the end of a list was
// expected.
func (p *parser) unexpected(t token, end tokKind) *feelError {
	switch t.kind {
	case tkEOF:
		if end == tkRParen {
			return errAt(t.off, "not( is not closed: missing )")
		}
	case tkOther:
		switch t.text {
		case "+", "*", "/":
			return errAt(t.off, "arithmetic (%s) is not supported in input entries; compute the value in the input expression or a variable", t.text)
		case "?":
			return errAt(t.off, "? (the input value in a FEEL expression) is not supported; use a comparison such as > 5 or a range")
		}
	case tkMinus:
		return errAt(t.off, "arithmetic (-) is not supported in input entries; compute the value in the input expression or a variable")
	case tkName:
		switch t.text {
		case "and", "or":
			return errAt(t.off, "%q is not supported in input entries; a comma-separated list means or, e.g. \"a\", \"b\" or [1..5]", t.text)
		case "in", "between", "instance", "satisfies":
			return errAt(t.off, "%q expressions are not supported in input entries", t.text)
		}
		return errAt(t.off, "unexpected name %q (names with spaces are not supported)", clip(t.text, 30))
	case tkRange:
		return errAt(t.off, "a range needs brackets, e.g. [1..5]")
	case tkRParen:
		return errAt(t.off, "unbalanced )")
	case tkLParen:
		return errAt(t.off, "function calls and parentheses are not supported here")
	}
	return errAt(t.off, "unexpected %s; expected , or the end of the entry", t)
}

func (p *parser) test() (test, *feelError) {
	t := p.peek()
	switch t.kind {
	case tkCompare:
		p.next()
		if n := p.peek(); n.kind == tkEOF || n.kind == tkComma || n.kind == tkRParen {
			return test{}, errAt(n.off, "a value is missing after %s", t.text)
		}
		ep, err := p.endpoint()
		if err != nil {
			return test{}, err
		}
		if t.text != "=" && t.text != "!=" && ep.prog == nil {
			if err := orderable(ep); err != nil {
				return test{}, err
			}
		}
		return test{op: t.text, lo: ep, off: t.off}, nil
	case tkLBracket, tkRBracket, tkLParen:
		return p.interval()
	}
	ep, err := p.endpoint()
	if err != nil {
		return test{}, err
	}
	return test{op: "=", lo: ep, off: t.off}, nil
}

func (p *parser) interval() (test, *feelError) {
	open := p.next()
	if open.kind == tkLParen && p.peekAt(1).kind == tkRParen {
		return test{}, errAt(open.off, "parentheses around a value are not supported; a range is written (1..5)")
	}
	lo, err := p.endpoint()
	if err != nil {
		return test{}, err
	}
	switch t := p.next(); t.kind {
	case tkRange:
	case tkComma:
		return test{}, errAt(open.off, "list literals are not supported; write the values without brackets: \"a\", \"b\"")
	default:
		return test{}, errAt(t.off, "a range needs .. between its ends, e.g. [1..5]; found %s", t)
	}
	hi, err := p.endpoint()
	if err != nil {
		return test{}, err
	}
	t := test{op: "..", lo: lo, hi: hi, loOpen: open.kind != tkLBracket, off: open.off}
	switch c := p.next(); c.kind {
	case tkRBracket:
	case tkRParen, tkLBracket:
		t.hiOpen = true
	default:
		return test{}, errAt(c.off, "range is not closed: expected ], ) or [; found %s", c)
	}
	for _, ep := range []*endpoint{lo, hi} {
		if ep.prog == nil {
			if err := orderable(ep); err != nil {
				return test{}, err
			}
		}
	}
	if lo.prog == nil && hi.prog == nil {
		if _, err := compare(lo.val, hi.val); err != nil {
			return test{}, errAt(hi.off, "range ends do not match: %v", err)
		}
	}
	return t, nil
}

// orderable refuses constants that < > and ranges cannot use.
func orderable(ep *endpoint) *feelError {
	switch v := ep.val.(type) {
	case nil:
		return errAt(ep.off, "null has no order; use null or not(null) to test for it")
	case bool:
		return errAt(ep.off, "booleans have no order; use true or false")
	case float64:
		if math.IsNaN(v) {
			return errAt(ep.off, "NaN has no order")
		}
	}
	return nil
}

// endpoint reads a value: a literal, a date/duration constructor or a
// variable.
func (p *parser) endpoint() (*endpoint, *feelError) {
	t := p.next()
	ep := &endpoint{off: t.off}
	switch t.kind {
	case tkNumber:
		ep.val, ep.text = t.num, t.text
	case tkMinus:
		n := p.peek()
		if n.kind != tkNumber {
			if n.kind == tkEOF || n.kind == tkComma || n.kind == tkRParen {
				return nil, errAt(t.off, "- (any value) must be the whole entry")
			}
			return nil, errAt(t.off, "negation is supported for number literals only")
		}
		p.next()
		ep.val, ep.text = -n.num, p.src[t.off:n.off+len(n.text)]
	case tkString:
		ep.val, ep.text = t.str, t.text
	case tkName:
		return p.named(t, ep)
	case tkOther:
		switch t.text {
		case "?":
			return nil, errAt(t.off, "? (the input value in a FEEL expression) is not supported; use a comparison such as > 5 or a range")
		case "{":
			return nil, errAt(t.off, "context literals {...} are not supported in input entries")
		}
		return nil, errAt(t.off, "unexpected %s", t)
	case tkLBracket:
		return nil, errAt(t.off, "list literals and nested ranges are not supported here")
	case tkEOF:
		return nil, errAt(t.off, "a value is missing at the end of the entry")
	default:
		return nil, errAt(t.off, "a value is expected, found %s", t)
	}
	return ep, p.checkColumn(ep)
}

func (p *parser) named(t token, ep *endpoint) (*endpoint, *feelError) {
	switch t.text {
	case "true", "false":
		ep.val, ep.text = t.text == "true", t.text
		return ep, p.checkColumn(ep)
	case "null":
		ep.text = t.text
		return ep, nil
	case "date":
		if a, b, c := p.peek(), p.peekAt(1), p.peekAt(2); a.kind == tkName && a.text == "and" && b.kind == tkName && b.text == "time" && c.kind == tkLParen {
			p.next()
			p.next()
			s, err := p.constructorArg("date and time")
			if err != nil {
				return nil, err
			}
			tm, perr := parseDateTime(s.str)
			if perr != nil {
				return nil, errAt(s.off, "bad date and time: %v", perr)
			}
			ep.val, ep.text = tm, p.src[t.off:p.toks[p.i-1].off+1]
			return ep, p.checkColumn(ep)
		}
		if p.peek().kind == tkLParen {
			s, err := p.constructorArg("date")
			if err != nil {
				return nil, err
			}
			tm, perr := parseDate(s.str)
			if perr != nil {
				return nil, errAt(s.off, "bad date %s: want YYYY-MM-DD", clip(s.text, 40))
			}
			ep.val, ep.text = tm, p.src[t.off:p.toks[p.i-1].off+1]
			return ep, p.checkColumn(ep)
		}
	case "duration":
		if p.peek().kind == tkLParen {
			s, err := p.constructorArg("duration")
			if err != nil {
				return nil, err
			}
			d, perr := parseDuration(s.str)
			if perr != nil {
				return nil, errAt(s.off, "bad duration: %v", perr)
			}
			ep.val, ep.text = d, p.src[t.off:p.toks[p.i-1].off+1]
			return ep, p.checkColumn(ep)
		}
	case "not":
		if p.peek().kind == tkLParen {
			return nil, errAt(t.off, "not(...) must be the whole entry")
		}
		return nil, errAt(t.off, "\"not\" is written not(...) around the whole entry")
	case "some", "every":
		return nil, errAt(t.off, "quantified expressions (%s ... in ... satisfies) are not supported in input entries", t.text)
	case "for":
		return nil, errAt(t.off, "for expressions are not supported in input entries")
	case "if":
		return nil, errAt(t.off, "if expressions are not supported in input entries")
	case "function":
		return nil, errAt(t.off, "function definitions are not supported in input entries")
	case "and", "or", "in", "satisfies", "then", "else", "return", "between", "instance", "of":
		return nil, errAt(t.off, "%q is a FEEL keyword and cannot stand here", t.text)
	}
	if p.peek().kind == tkLParen {
		return nil, errAt(t.off, "function calls such as %s(...) are not supported; only date(\"...\"), date and time(\"...\") and duration(\"...\")", clip(t.text, 30))
	}
	prog, err := expr.Compile(t.text)
	if err != nil {
		msg := err.Error()
		var ee *expr.Error
		if errors.As(err, &ee) {
			msg = ee.Msg
		}
		return nil, &feelError{off: t.off, msg: fmt.Sprintf("cannot read variable %q: %s", clip(t.text, 30), msg), err: err}
	}
	ep.prog, ep.text = prog, t.text
	return ep, nil
}

// constructorArg reads ( "string" ) after a date, date and time or
// duration name.
func (p *parser) constructorArg(fn string) (token, *feelError) {
	open := p.next() // (
	s := p.next()
	if s.kind != tkString {
		return token{}, errAt(open.off, "%s() takes one string literal, e.g. %s", fn, example(fn))
	}
	if c := p.next(); c.kind != tkRParen {
		return token{}, errAt(c.off, "%s() takes one string literal, e.g. %s", fn, example(fn))
	}
	return s, nil
}

func example(fn string) string {
	switch fn {
	case "date":
		return `date("2024-01-31")`
	case "date and time":
		return `date and time("2024-01-31T10:00:00")`
	}
	return `duration("P1D")`
}

// checkColumn refuses a constant whose type cannot match the column's.
func (p *parser) checkColumn(ep *endpoint) *feelError {
	if ep.prog != nil || ep.val == nil {
		return nil
	}
	if _, err := convert(ep.val, p.col); err != nil {
		return errAt(ep.off, "%s does not fit the input's type %s", describeConst(ep), p.col)
	}
	return nil
}

func describeConst(ep *endpoint) string {
	switch ep.val.(type) {
	case time.Time, duration:
		return clip(ep.text, 40)
	}
	return describe(ep.val)
}

// match evaluates the entry for input value x. A test on null that FEEL
// leaves undecided (null < 5) does not match, also under not().
func (u *unaryTests) match(x any, vars map[string]any) (bool, *feelError) {
	if u.any {
		return true, nil
	}
	hit, unknown := false, false
	for i := range u.tests {
		r, err := u.tests[i].eval(x, vars)
		if err != nil {
			return false, err
		}
		if r > 0 {
			hit = true
			break
		}
		if r < 0 {
			unknown = true
		}
	}
	if u.not {
		return !hit && !unknown, nil
	}
	return hit, nil
}

// eval returns 1 (satisfied), 0 (not) or -1 (undecided: an operand is
// null in an ordering test).
func (t *test) eval(x any, vars map[string]any) (int, *feelError) {
	v, err := t.lo.value(vars)
	if err != nil {
		return 0, err
	}
	switch t.op {
	case "=", "!=":
		eq, cerr := equal(x, v)
		if cerr != nil {
			return 0, &feelError{off: t.lo.off, msg: cerr.Error()}
		}
		if eq == (t.op == "=") {
			return 1, nil
		}
		return 0, nil
	case "..":
		hv, err := t.hi.value(vars)
		if err != nil {
			return 0, err
		}
		if x == nil || v == nil || hv == nil {
			return -1, nil
		}
		c, cerr := compare(x, v)
		if cerr != nil {
			return 0, &feelError{off: t.lo.off, msg: cerr.Error()}
		}
		if c < 0 || c == 0 && t.loOpen {
			// Still check the other end's type so that a bad range
			// fails the same way whatever the input.
			if _, cerr := compare(x, hv); cerr != nil {
				return 0, &feelError{off: t.hi.off, msg: cerr.Error()}
			}
			return 0, nil
		}
		c, cerr = compare(x, hv)
		if cerr != nil {
			return 0, &feelError{off: t.hi.off, msg: cerr.Error()}
		}
		if c > 0 || c == 0 && t.hiOpen {
			return 0, nil
		}
		return 1, nil
	}
	if x == nil || v == nil {
		return -1, nil
	}
	c, cerr := compare(x, v)
	if cerr != nil {
		return 0, &feelError{off: t.lo.off, msg: cerr.Error()}
	}
	var ok bool
	switch t.op {
	case "<":
		ok = c < 0
	case "<=":
		ok = c <= 0
	case ">":
		ok = c > 0
	case ">=":
		ok = c >= 0
	}
	if ok {
		return 1, nil
	}
	return 0, nil
}

// parseLiteral reads an output entry or output value that is a single
// FEEL literal: a number, a string, true, false, null, or a date, date and
// time or duration constructor. Temporal literals become their ISO 8601
// strings, so that outputs are JSON values. ok is false when src is not a
// single literal (then it is an expression); err is set when it is a
// literal but a bad one (date("2024-13-01")).
func parseLiteral(src string) (v any, ok bool, err *feelError) {
	toks, lerr := lex(src)
	if lerr != nil {
		return nil, false, nil
	}
	if toks[0].kind == tkEOF {
		return nil, true, nil
	}
	kinds := make([]tokKind, 0, len(toks))
	for _, t := range toks {
		kinds = append(kinds, t.kind)
	}
	is := func(want ...tokKind) bool { return slices.Equal(kinds, want) }
	name := func(i int, s string) bool { return toks[i].kind == tkName && toks[i].text == s }
	switch {
	case is(tkNumber, tkEOF), is(tkMinus, tkNumber, tkEOF), is(tkString, tkEOF):
	case is(tkName, tkEOF) && (name(0, "true") || name(0, "false") || name(0, "null")):
	case is(tkName, tkLParen, tkString, tkRParen, tkEOF) && (name(0, "date") || name(0, "duration")):
	case is(tkName, tkName, tkName, tkLParen, tkString, tkRParen, tkEOF) && name(0, "date") && name(1, "and") && name(2, "time"):
	default:
		return nil, false, nil
	}
	p := &parser{src: src, toks: toks}
	ep, ferr := p.endpoint()
	if ferr != nil {
		return nil, true, ferr
	}
	switch ep.val.(type) {
	case time.Time, duration:
		// The argument as written, which parsed.
		return toks[len(toks)-3].str, true, nil
	}
	return ep.val, true, nil
}
