package feel

import (
	"strings"
)

// maxNesting bounds the parser's recursion.
const maxNesting = 120

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
	err   *Error
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
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *parser) fail(t token, format string, args ...any) {
	if p.err == nil {
		p.err = errorAt(p.src, t.pos, format, args...)
	}
}

func describeTok(t token) string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tStr:
		return "string \"" + clip(t.text, 20) + "\""
	}
	return "\"" + clip(t.text, 20) + "\""
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func (p *parser) expectOp(op string) bool {
	t := p.peek()
	if !t.is(op) {
		p.fail(t, "expected %q, found %s", op, describeTok(t))
		return false
	}
	p.next()
	return true
}

func (p *parser) isWord(w string) bool {
	t := p.peek()
	return t.kind == tName && t.text == w
}

func (p *parser) expectWord(w string) bool {
	if !p.isWord(w) {
		p.fail(p.peek(), "expected %q, found %s", w, describeTok(p.peek()))
		return false
	}
	p.next()
	return true
}

func (p *parser) enter() bool {
	p.depth++
	if p.depth > maxNesting {
		p.fail(p.peek(), "expression nested too deeply")
		return false
	}
	return true
}

// parseExpression parses a whole expression.
func parseExpression(src string) (node, *Error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	n := p.expression()
	if p.err == nil && p.peek().kind != tEOF {
		p.fail(p.peek(), "unexpected %s", describeTok(p.peek()))
	}
	if p.err != nil {
		return nil, p.err
	}
	return n, nil
}

func (p *parser) expression() node {
	if !p.enter() {
		return nil
	}
	defer func() { p.depth-- }()
	t := p.peek()
	if t.kind == tName {
		switch t.text {
		case "if":
			return p.ifExpr()
		case "for":
			return p.forExpr()
		case "some", "every":
			return p.quantified()
		case "function":
			return p.funcDef()
		}
	}
	return p.disjunction()
}

func (p *parser) ifExpr() node {
	p.next()
	c := p.expression()
	if p.err != nil || !p.expectWord("then") {
		return nil
	}
	a := p.expression()
	if p.err != nil || !p.expectWord("else") {
		return nil
	}
	b := p.expression()
	return &ifNode{c, a, b}
}

func (p *parser) iterators(sep string) []iterator {
	var its []iterator
	for {
		name, ok := p.name()
		if !ok {
			p.fail(p.peek(), "expected a variable name, found %s", describeTok(p.peek()))
			return nil
		}
		if !p.expectWord("in") {
			return nil
		}
		dom := p.expression()
		if p.err != nil {
			return nil
		}
		it := iterator{name: name, domain: dom}
		if p.peek().is("..") {
			p.next()
			it.to = p.expression()
			if p.err != nil {
				return nil
			}
		}
		its = append(its, it)
		if !p.peek().is(",") {
			break
		}
		p.next()
	}
	if !p.expectWord(sep) {
		return nil
	}
	return its
}

func (p *parser) forExpr() node {
	p.next()
	its := p.iterators("return")
	if p.err != nil {
		return nil
	}
	body := p.expression()
	return &forNode{its, body}
}

func (p *parser) quantified() node {
	every := p.next().text == "every"
	its := p.iterators("satisfies")
	if p.err != nil {
		return nil
	}
	cond := p.expression()
	return &quantNode{every, its, cond}
}

func (p *parser) funcDef() node {
	p.next()
	if p.isWord("external") {
		p.fail(p.peek(), "external functions are not supported")
		return nil
	}
	if !p.expectOp("(") {
		return nil
	}
	var params []string
	for !p.peek().is(")") {
		name, ok := p.name()
		if !ok {
			p.fail(p.peek(), "expected a parameter name, found %s", describeTok(p.peek()))
			return nil
		}
		if p.peek().is(":") {
			p.next()
			p.typeName()
			if p.err != nil {
				return nil
			}
		}
		params = append(params, name)
		if p.peek().is(",") {
			p.next()
			continue
		}
		if !p.peek().is(")") {
			p.fail(p.peek(), "expected \",\" or \")\", found %s", describeTok(p.peek()))
			return nil
		}
	}
	p.next()
	body := p.expression()
	return &funcNode{params: params, body: body}
}

func (p *parser) disjunction() node {
	l := p.conjunction()
	for p.err == nil && p.isWord("or") {
		p.next()
		r := p.conjunction()
		l = &orNode{l, r}
	}
	return l
}

func (p *parser) conjunction() node {
	l := p.comparison()
	for p.err == nil && p.isWord("and") {
		p.next()
		r := p.comparison()
		l = &andNode{l, r}
	}
	return l
}

var cmpOps = map[string]bool{"=": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true}

func (p *parser) comparison() node {
	l := p.additive()
	for p.err == nil {
		t := p.peek()
		switch {
		case t.kind == tOp && cmpOps[t.text]:
			p.next()
			r := p.additive()
			l = &cmpNode{t.text, l, r}
		case t.kind == tName && t.text == "between":
			p.next()
			lo := p.additive()
			if p.err != nil || !p.expectWord("and") {
				return nil
			}
			hi := p.additive()
			l = &betweenNode{l, lo, hi}
		case t.kind == tName && t.text == "in":
			p.next()
			start := p.i
			tests := p.inTests()
			in := &inNode{x: l, tests: tests}
			for _, tk := range p.toks[start:p.i] {
				in.useInput = in.useInput || tk.is("?")
			}
			for _, t := range tests {
				t.useInput = in.useInput
			}
			l = in
		case t.kind == tName && t.text == "instance":
			p.next()
			if !p.expectWord("of") {
				return nil
			}
			typ := p.typeName()
			l = &instanceNode{l, typ}
		default:
			return l
		}
	}
	return l
}

// inTests parses the right side of "in": one positive unary test or a
// parenthesised list of them.
func (p *parser) inTests() []*posTest {
	if p.peek().is("(") {
		save := p.i
		p.next()
		var tests []*posTest
		for {
			t := p.posTest()
			if p.err != nil {
				return nil
			}
			tests = append(tests, t)
			if p.peek().is(",") {
				p.next()
				continue
			}
			break
		}
		if p.peek().is(")") && (len(tests) > 1 || tests[0].op != "") {
			p.next()
			return tests
		}
		p.i = save // a parenthesised expression or a range
	}
	t := p.posTest()
	if p.err != nil {
		return nil
	}
	return []*posTest{t}
}

// posTest parses a positive unary test: "< 3", "[1..5]", "x + 1".
func (p *parser) posTest() *posTest {
	t := p.peek()
	if t.kind == tOp && cmpOps[t.text] {
		p.next()
		e := p.additive()
		return &posTest{op: t.text, x: e}
	}
	if t.is("?") { // "5 in ? < 10"
		return &posTest{x: p.comparison()}
	}
	e := p.additive()
	return &posTest{x: e}
}

func (p *parser) additive() node {
	l := p.multiplicative()
	for p.err == nil {
		t := p.peek()
		if !t.is("+") && !t.is("-") {
			return l
		}
		p.next()
		r := p.multiplicative()
		l = &arithNode{t.text[0], l, r}
	}
	return l
}

func (p *parser) multiplicative() node {
	l := p.power()
	for p.err == nil {
		t := p.peek()
		if !t.is("*") && !t.is("/") {
			return l
		}
		p.next()
		r := p.power()
		l = &arithNode{t.text[0], l, r}
	}
	return l
}

func (p *parser) power() node {
	l := p.unary()
	for p.err == nil && p.peek().is("**") {
		p.next()
		r := p.unary()
		l = &arithNode{'^', l, r}
	}
	return l
}

func (p *parser) unary() node {
	if p.peek().is("-") {
		if !p.enter() {
			return nil
		}
		defer func() { p.depth-- }()
		p.next()
		x := p.unary()
		if l, ok := x.(*lit); ok {
			if d, ok := l.v.(Decimal); ok {
				return &lit{d.Neg()}
			}
		}
		return &negNode{x}
	}
	return p.postfix()
}

func (p *parser) postfix() node {
	x := p.primary()
	for p.err == nil {
		t := p.peek()
		switch {
		case t.is("."):
			p.next()
			name, ok := p.name()
			if !ok {
				p.fail(p.peek(), "expected a name after \".\", found %s", describeTok(p.peek()))
				return nil
			}
			x = &pathNode{x, name}
		case t.is("[") && !closesRange(p.peekAt(1)):
			p.next()
			c := p.expression()
			if p.err != nil || !p.expectOp("]") {
				return nil
			}
			x = &filterNode{x, c}
		case t.is("("):
			p.next()
			c := p.call(x)
			if p.err != nil {
				return nil
			}
			x = c
		default:
			return x
		}
	}
	return x
}

// closesRange reports whether the token after a "[" shows that the "[" is
// the exclusive end of a range ("[1..5[") rather than a filter.
func closesRange(t token) bool {
	return t.kind == tEOF || t.is(",") || t.is(")") || t.is("]")
}

func (p *parser) call(fn node) node {
	c := &callNode{fn: fn}
	if nr, ok := fn.(*nameNode); ok {
		c.name = nr.name
	}
	for !p.peek().is(")") {
		if n := p.namedArg(); n != "" {
			c.names = append(c.names, n)
		} else if len(c.names) > 0 {
			p.fail(p.peek(), "positional argument after named arguments")
			return nil
		}
		a := p.expression()
		if p.err != nil {
			return nil
		}
		c.args = append(c.args, a)
		if p.peek().is(",") {
			p.next()
			continue
		}
		if !p.peek().is(")") {
			p.fail(p.peek(), "expected \",\" or \")\" in the arguments, found %s", describeTok(p.peek()))
			return nil
		}
	}
	p.next()
	if len(c.names) > 0 && len(c.names) != len(c.args) {
		p.fail(p.peek(), "mixed named and positional arguments")
		return nil
	}
	return c
}

// namedArg consumes "name:" and returns the name, or returns "".
func (p *parser) namedArg() string {
	save := p.i
	if name, ok := p.name(); ok && p.peek().is(":") {
		p.next()
		return name
	}
	p.i = save
	return ""
}

// name reads a name: words joined by single spaces (the longest run that
// is a built-in function's name, or else the run of non-keyword words), or
// a backtick-quoted name.
func (p *parser) name() (string, bool) {
	t := p.peek()
	if t.kind == tQuote {
		p.next()
		return t.text, true
	}
	if t.kind != tName {
		return "", false
	}
	var words []string
	for j := 0; j < 8; j++ {
		w := p.peekAt(j)
		if w.kind != tName {
			break
		}
		words = append(words, w.text)
	}
	for k := len(words); k >= 2; k-- {
		cand := strings.Join(words[:k], " ")
		if multiWordNames[cand] {
			p.i += k
			return cand, true
		}
	}
	k := 0
	for k < len(words) && !keywords[words[k]] {
		k++
	}
	if k == 0 {
		return "", false
	}
	p.i += k
	return strings.Join(words[:k], " "), true
}

var typeNames = []string{"date and time", "days and time duration", "years and months duration"}

func typePrefix(s string) bool {
	for _, t := range typeNames {
		if strings.HasPrefix(t, s) {
			return true
		}
	}
	return false
}

// typeName reads a type after "instance of" or a parameter's ":".
func (p *parser) typeName() string {
	var words []string
	for p.peek().kind == tName {
		w := p.peek().text
		if len(words) > 0 && !typePrefix(strings.Join(append(words, w), " ")) {
			break
		}
		words = append(words, w)
		p.next()
	}
	if len(words) == 0 {
		p.fail(p.peek(), "expected a type name, found %s", describeTok(p.peek()))
		return ""
	}
	name := strings.Join(words, " ")
	if p.peek().is("<") { // list<number>, context<a: number>
		depth := 0
		for p.err == nil {
			t := p.next()
			switch {
			case t.kind == tEOF:
				p.fail(t, "unterminated type %q", name)
			case t.is("<"):
				depth++
			case t.is(">"):
				depth--
			}
			if depth == 0 {
				break
			}
		}
	}
	return name
}

func (p *parser) primary() node {
	if !p.enter() {
		return nil
	}
	defer func() { p.depth-- }()
	t := p.peek()
	switch t.kind {
	case tNum:
		p.next()
		d, ok := ParseDecimal(t.text)
		if !ok {
			p.fail(t, "bad number %s", t.text)
			return nil
		}
		return &lit{d}
	case tStr:
		p.next()
		return &lit{t.text}
	case tQuote:
		p.next()
		return &nameNode{name: t.text}
	case tName:
		switch t.text {
		case "true", "false":
			p.next()
			return &lit{t.text == "true"}
		case "null":
			p.next()
			return &lit{nil}
		case "if", "for", "some", "every", "function":
			return p.expression()
		case "and", "or":
			if p.peekAt(1).is("(") {
				p.next()
				return &nameNode{name: t.text}
			}
		}
		name, ok := p.name()
		if !ok {
			p.fail(t, "unexpected %s", describeTok(t))
			return nil
		}
		return &nameNode{name: name}
	case tEOF:
		p.fail(t, "unexpected end of expression")
		return nil
	}
	switch t.text {
	case "?":
		p.next()
		return &inputNode{}
	case "@":
		p.next()
		s := p.peek()
		if s.kind != tStr {
			p.fail(s, "expected a string after \"@\"")
			return nil
		}
		p.next()
		v, _ := parseTemporal(s.text) // an invalid value is null, as in time("25:00")
		return &lit{v}
	case "(":
		p.next()
		e := p.expression()
		if p.err != nil {
			return nil
		}
		if p.peek().is("..") {
			return p.rangeRest(false, e)
		}
		if !p.expectOp(")") {
			return nil
		}
		return e
	case "]":
		p.next()
		e := p.expression()
		if p.err != nil {
			return nil
		}
		if !p.peek().is("..") {
			p.fail(p.peek(), "expected \"..\" in a range, found %s", describeTok(p.peek()))
			return nil
		}
		return p.rangeRest(false, e)
	case "[":
		p.next()
		if p.peek().is("]") {
			p.next()
			return &listNode{}
		}
		e := p.expression()
		if p.err != nil {
			return nil
		}
		if p.peek().is("..") {
			return p.rangeRest(true, e)
		}
		l := &listNode{elems: []node{e}}
		for p.peek().is(",") {
			p.next()
			e := p.expression()
			if p.err != nil {
				return nil
			}
			l.elems = append(l.elems, e)
		}
		if !p.expectOp("]") {
			return nil
		}
		return l
	case "{":
		return p.context()
	case "<", "<=", ">", ">=":
		p.next()
		e := p.additive()
		return &unaryRangeNode{t.text, e}
	}
	p.fail(t, "unexpected %s", describeTok(t))
	return nil
}

func (p *parser) rangeRest(startIncl bool, start node) node {
	p.next() // ..
	end := p.expression()
	if p.err != nil {
		return nil
	}
	t := p.next()
	r := &rangeNode{start: start, end: end, startIncl: startIncl}
	switch {
	case t.is("]"):
		r.endIncl = true
	case t.is(")"), t.is("["):
	default:
		p.fail(t, "expected \"]\", \")\" or \"[\" to close the range, found %s", describeTok(t))
		return nil
	}
	return r
}

func (p *parser) context() node {
	p.next() // {
	c := &contextNode{}
	for !p.peek().is("}") {
		t := p.peek()
		var key string
		if t.kind == tStr {
			p.next()
			key = t.text
		} else if k, ok := p.specialKey(); ok {
			key = k
		} else if name, ok := p.name(); ok {
			key = name
			if t.kind == tName { // keep the spacing of the source: {foo   bar: 1}
				key = p.src[t.pos:p.toks[p.i-1].end]
			}
		} else {
			p.fail(t, "expected a context key, found %s", describeTok(t))
			return nil
		}
		if !p.expectOp(":") {
			return nil
		}
		v := p.expression()
		if p.err != nil {
			return nil
		}
		c.keys = append(c.keys, key)
		c.vals = append(c.vals, v)
		if p.peek().is(",") {
			p.next()
			continue
		}
		if !p.peek().is("}") {
			p.fail(p.peek(), "expected \",\" or \"}\" in a context, found %s", describeTok(p.peek()))
			return nil
		}
	}
	p.next()
	return c
}

// specialKey reads a context key that holds operator characters, such as
// "foo+bar" or "how_are_you?": the source text up to the ":".
func (p *parser) specialKey() (string, bool) {
	j := p.i
	special := false
	for ; ; j++ {
		t := p.toks[j]
		if t.is(":") {
			break
		}
		switch {
		case t.kind == tName || t.kind == tNum:
		case t.kind == tOp && (t.text == "+" || t.text == "-" || t.text == "*" || t.text == "/" || t.text == "?" || t.text == "." || t.text == "'"):
			special = true
		default:
			return "", false
		}
	}
	if !special || j == p.i {
		return "", false
	}
	key := p.src[p.toks[p.i].pos:p.toks[j-1].end]
	p.i = j
	return key, true
}

// parseTemporal reads the string of a temporal literal @"...".
func parseTemporal(s string) (any, bool) {
	if d, ok := parseDate(s); ok {
		return d, true
	}
	if strings.Contains(s, "T") && !strings.HasPrefix(s, "P") && !strings.HasPrefix(s, "-P") {
		if dt, ok := parseDateTime(s); ok {
			return dt, true
		}
	}
	if t, ok := parseTime(s); ok {
		return t, true
	}
	return parseDuration(s)
}
