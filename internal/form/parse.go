package form

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Parse reads a form-js schema. Every problem is reported, located by
// component and property, in a *SchemaError (which wraps ErrInvalid).
// Documents over MaxSize bytes, nested deeper than MaxDepth components or
// with more than MaxComponents components are refused.
//
// A pattern Go's regexp cannot compile (JavaScript lookarounds or
// backreferences) does not fail Parse: it is listed by Warnings, and
// Validate rejects values for that field until the pattern is fixed.
func Parse(data []byte) (*Form, error) {
	if len(data) > MaxSize {
		return nil, &SchemaError{Problems: []Problem{{Message: fmt.Sprintf(
			"the form is %d bytes, more than the limit of %d", len(data), MaxSize)}}}
	}
	var raw json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, &SchemaError{Problems: []Problem{{Message: syntaxMessage(data, err)}}}
	}
	if d := jsonDepth(data); d > maxJSONDepth {
		return nil, &SchemaError{Problems: []Problem{{Message: fmt.Sprintf(
			"the form nests objects and lists %d deep, more than the limit of %d", d, maxJSONDepth)}}}
	}
	p := &parser{}
	f := &Form{}
	p.form(f, raw)
	if len(p.problems) > 0 {
		return nil, &SchemaError{Problems: p.problems}
	}
	idx, problems := build(f)
	if len(problems) > 0 {
		return nil, &SchemaError{Problems: problems}
	}
	f.idx.Store(idx)
	return f, nil
}

// syntaxMessage says where malformed JSON goes wrong, as line and column.
func syntaxMessage(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var off int64 = -1
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if len(strings.TrimSpace(string(data))) == 0 {
		return "the form is empty"
	}
	if off < 0 {
		return "malformed JSON: " + msg
	}
	line, col := 1, 1
	// The offset is just after the byte that is wrong.
	for _, c := range data[:min(max(int(off)-1, 0), len(data))] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("malformed JSON at line %d, column %d: %s", line, col, msg)
}

// jsonDepth is the deepest nesting of objects and arrays in valid JSON.
func jsonDepth(data []byte) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range data {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			deepest = max(deepest, depth)
		case '}', ']':
			depth--
		}
	}
	return deepest
}

// parser decodes a form, collecting located problems.
type parser struct {
	problems []Problem
	count    int
}

func (p *parser) add(component, key string, err error) {
	pe, ok := err.(*propError)
	if !ok {
		pe = &propError{msg: err.Error()}
	}
	p.problems = append(p.problems, Problem{Component: component, Key: key, Property: pe.field, Message: pe.msg})
}

func (p *parser) form(f *Form, data []byte) {
	o, err := decodeObject(data)
	if err != nil {
		p.add("", "", err)
		return
	}
	f.order = o.keys
	f.Extra, err = decodeProps(o, f.props(), "components")
	if err != nil {
		p.add("", "", err)
	}
	if f.Type != "" && f.Type != "default" {
		p.add("", "", &propError{field: "type", msg: fmt.Sprintf("must be \"default\", not %q", f.Type)})
	}
	if raw, ok := o.vals["components"]; ok && string(raw) != "null" {
		f.Components = p.components(raw, "")
	}
}

// components decodes a list of components found at parent ("" for the
// form itself).
func (p *parser) components(raw json.RawMessage, parent string) []*Component {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		v, _ := decodeAny(raw)
		p.add(parent, "", &propError{field: "components", msg: "must be a list of components, not " + kindOf(v)})
		return nil
	}
	cs := make([]*Component, 0, len(items))
	for i, item := range items {
		loc := "components[" + strconv.Itoa(i) + "]"
		if parent != "" {
			loc = parent + "." + loc
		}
		p.count++
		if p.count > MaxComponents {
			if p.count == MaxComponents+1 {
				p.add(loc, "", fmt.Errorf("the form has more than %d components", MaxComponents))
			}
			return cs
		}
		if c := p.component(item, loc); c != nil {
			cs = append(cs, c)
		}
	}
	return cs
}

func (p *parser) component(raw json.RawMessage, loc string) *Component {
	o, err := decodeObject(raw)
	var key string
	if json.Unmarshal(o.vals["key"], &key) != nil || key == "" {
		_ = json.Unmarshal(o.vals["path"], &key)
	}
	if err != nil {
		p.add(loc, key, err)
		return nil
	}
	c := &Component{order: o.keys}
	c.Extra, err = decodeProps(o, c.props(), "components")
	if err != nil {
		p.add(loc, key, err)
	}
	if raw, ok := o.vals["components"]; ok && string(raw) != "null" {
		c.Components = p.components(raw, loc)
	}
	return c
}

// Component kinds.
var (
	inputTypes = map[string]bool{
		TypeTextfield: true, TypeTextarea: true, TypeNumber: true, TypeCheckbox: true,
		TypeChecklist: true, TypeRadio: true, TypeSelect: true, TypeTaglist: true,
		TypeDatetime: true, TypeExpression: true, TypeFilepicker: true,
	}
	containerTypes = map[string]bool{
		TypeGroup: true, TypeDynamicList: true, "multipage": true, "page": true,
	}
	presentationTypes = map[string]bool{
		TypeText: true, TypeHTML: true, TypeImage: true, TypeButton: true, TypeSpacer: true,
		TypeSeparator: true, TypeIframe: true, TypeTable: true, TypeDocPreview: true,
	}
	optionTypes = map[string]bool{
		TypeSelect: true, TypeRadio: true, TypeChecklist: true, TypeTaglist: true,
	}
)

// isInput reports whether a component binds a value: the input types, and
// unknown types with a key (kept, their values not checked).
func isInput(c *Component) bool {
	if inputTypes[c.Type] {
		return true
	}
	return c.Key != "" && !containerTypes[c.Type] && !presentationTypes[c.Type] && len(c.Components) == 0
}

func isContainer(c *Component) bool {
	return containerTypes[c.Type] || (len(c.Components) > 0 && !inputTypes[c.Type])
}

// validPath reports whether s is a key or path: parts of letters, digits,
// "_" and "-", separated by dots.
func validPath(s string) bool {
	if s == "" {
		return false
	}
	for part := range strings.SplitSeq(s, ".") {
		if part == "" {
			return false
		}
		for _, r := range part {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-' {
				return false
			}
		}
	}
	return true
}

// index is what Validate needs, computed once: the fields of the form in
// order, the tree of their keys, compiled patterns.
type index struct {
	top      *scope
	warnings []Problem
}

// scope is the form, or one item of a dynamic list.
type scope struct {
	fields []*field
	root   *node
}

func newScope() *scope { return &scope{root: &node{}} }

// node is one part of a key path; a field ends at a node.
type node struct {
	kids  map[string]*node
	field *field
}

// field is one input of the form.
type field struct {
	c      *Component
	loc    string
	segs   []string // key path relative to its scope
	key    string
	label  string
	hidden bool // it or a container has conditional.hide
	locked bool // it or a container is readonly or disabled
	re     *regexp.Regexp
	reErr  string
	items  *scope // dynamic list: the fields of each item
}

// index returns the form's index, building it for a Form made by hand.
func (f *Form) index() *index {
	if idx := f.idx.Load(); idx != nil {
		return idx
	}
	idx, _ := build(f)
	f.idx.CompareAndSwap(nil, idx)
	return f.idx.Load()
}

// Warnings lists what Baton keeps but cannot check on the server: patterns
// Go's regexp cannot compile, and rules given as FEEL expressions.
func (f *Form) Warnings() []Problem { return f.index().warnings }

type builder struct {
	problems    []Problem
	warnings    []Problem
	patternSize int
}

// build checks what decoding cannot (keys, rules, nesting, conflicts) and
// indexes the fields.
func build(f *Form) (*index, []Problem) {
	b := &builder{}
	top := newScope()
	b.walk(f.Components, "", top, nil, 1, false, false)
	return &index{top: top, warnings: b.warnings}, b.problems
}

func (b *builder) problem(loc, key, property, msg string) {
	b.problems = append(b.problems, Problem{Component: loc, Key: key, Property: property, Message: msg})
}

func (b *builder) warn(loc, key, property, msg string) {
	b.warnings = append(b.warnings, Problem{Component: loc, Key: key, Property: property, Message: msg})
}

func (b *builder) walk(cs []*Component, parent string, s *scope, prefix []string, depth int, hidden, locked bool) {
	for i, c := range cs {
		loc := "components[" + strconv.Itoa(i) + "]"
		if parent != "" {
			loc = parent + "." + loc
		}
		if c == nil {
			b.problem(loc, "", "", "is null")
			continue
		}
		if depth > MaxDepth {
			b.problem(loc, c.Key, "", fmt.Sprintf("components nest more than %d deep", MaxDepth))
			return
		}
		b.check(c, loc)
		h := hidden || (c.Conditional != nil && c.Conditional.Hide != "")
		l := locked || c.Readonly.Static() || c.Disabled.Static()
		switch {
		case c.Type == TypeDynamicList:
			if !validPath(c.Path) {
				continue // reported by check
			}
			fd := &field{c: c, loc: loc, segs: slices.Concat(prefix, strings.Split(c.Path, ".")),
				hidden: h, locked: l, items: newScope()}
			fd.key = strings.Join(fd.segs, ".")
			fd.label = c.label()
			if fd.label == "" {
				fd.label = c.Path
			}
			b.insert(s, fd)
			b.walk(c.Components, loc, fd.items, nil, depth+1, h, l)
		case isContainer(c):
			p := prefix
			if validPath(c.Path) {
				p = slices.Concat(prefix, strings.Split(c.Path, "."))
			}
			b.walk(c.Components, loc, s, p, depth+1, h, l)
		case isInput(c):
			if !validPath(c.Key) {
				continue // reported by check
			}
			fd := &field{c: c, loc: loc, segs: slices.Concat(prefix, strings.Split(c.Key, ".")), hidden: h, locked: l}
			fd.key = strings.Join(fd.segs, ".")
			fd.label = c.label()
			if c.Validate != nil && c.Validate.Pattern != "" {
				re, size, err := compilePattern(c.Validate.Pattern, maxFormPatternSize-b.patternSize)
				b.patternSize += size
				if err != nil {
					fd.reErr = err.Error()
					b.warn(loc, c.Key, "validate.pattern", fmt.Sprintf(
						"the pattern cannot be checked on the server (%s); values for this field are refused until it is changed", fd.reErr))
				}
				fd.re = re
			}
			b.insert(s, fd)
		}
	}
}

// check reports what is wrong with one component on its own.
func (b *builder) check(c *Component, loc string) {
	key := c.Key
	if key == "" {
		key = c.Path
	}
	switch {
	case c.Type == "":
		b.problem(loc, key, "type", "is missing")
	case inputTypes[c.Type] && c.Key == "":
		b.problem(loc, key, "key", fmt.Sprintf("is missing: a %s needs a key, the variable it binds", c.Type))
	}
	if c.Key != "" && !validPath(c.Key) {
		b.problem(loc, key, "key", fmt.Sprintf("%q is not a key: use letters, digits, _ and -, with dots between the parts of a path", c.Key))
	}
	if c.Path != "" && !validPath(c.Path) {
		b.problem(loc, key, "path", fmt.Sprintf("%q is not a path: use letters, digits, _ and -, with dots between the parts", c.Path))
	}
	if c.Type == TypeDynamicList && c.Path == "" {
		b.problem(loc, key, "path", "is missing: a dynamiclist needs a path, the variable holding its list")
	}
	if c.Type == TypeDatetime {
		switch c.Subtype {
		case "", SubtypeDate, SubtypeTime, SubtypeDatetime:
		default:
			b.problem(loc, key, "subtype", fmt.Sprintf("must be date, time or datetime, not %q", c.Subtype))
		}
	}
	if c.DecimalDigits != nil && *c.DecimalDigits < 0 {
		b.problem(loc, key, "decimalDigits", fmt.Sprintf("must be 0 or more, not %d", *c.DecimalDigits))
	}
	if n, ok := c.Increment.Float(); ok && n <= 0 {
		b.problem(loc, key, "increment", fmt.Sprintf("must be more than 0, not %s", c.Increment.Lit))
	}
	v := c.Validate
	if v == nil {
		return
	}
	switch v.ValidationType {
	case "", "email", "phone", "custom":
	default:
		b.problem(loc, key, "validate.validationType", fmt.Sprintf("must be email, phone or custom, not %q", v.ValidationType))
	}
	for _, l := range []struct {
		name string
		n    *Number
	}{{"minLength", v.MinLength}, {"maxLength", v.MaxLength}} {
		if n, ok := l.n.Float(); ok && (n < 0 || n != float64(int64(n))) {
			b.problem(loc, key, "validate."+l.name, fmt.Sprintf("must be a whole number, 0 or more, not %s", l.n.Lit))
		}
	}
	lo, okLo := v.Min.Float()
	hi, okHi := v.Max.Float()
	if okLo && okHi && lo > hi {
		b.problem(loc, key, "validate.min", fmt.Sprintf("%s is more than validate.max %s: no value can pass", v.Min.Lit, v.Max.Lit))
	}
	lo, okLo = v.MinLength.Float()
	hi, okHi = v.MaxLength.Float()
	if okLo && okHi && lo > hi {
		b.problem(loc, key, "validate.minLength", fmt.Sprintf("%s is more than validate.maxLength %s: no value can pass", v.MinLength.Lit, v.MaxLength.Lit))
	}
	for _, e := range []struct {
		name string
		n    *Number
	}{{"min", v.Min}, {"max", v.Max}, {"minLength", v.MinLength}, {"maxLength", v.MaxLength}} {
		if e.n != nil && e.n.Expr != "" {
			b.warn(loc, key, "validate."+e.name, fmt.Sprintf("the expression %q is not evaluated on the server; the rule is not checked", e.n.Expr))
		}
	}
}

// insert adds a field to its scope's key tree, refusing a key used twice
// or a key inside another field's key.
func (b *builder) insert(s *scope, fd *field) {
	n := s.root
	for _, seg := range fd.segs {
		if n.field != nil {
			b.problem(fd.loc, fd.c.Key, "key", fmt.Sprintf("%q is inside %q, the key of %s", fd.key, n.field.key, n.field.loc))
			return
		}
		next := n.kids[seg]
		if next == nil {
			if n.kids == nil {
				n.kids = map[string]*node{}
			}
			next = &node{}
			n.kids[seg] = next
		}
		n = next
	}
	switch {
	case n.field != nil:
		b.problem(fd.loc, fd.c.Key, "key", fmt.Sprintf("%q is also the key of %s", fd.key, n.field.loc))
		return
	case len(n.kids) > 0:
		b.problem(fd.loc, fd.c.Key, "key", fmt.Sprintf("%q is also the start of the key %q", fd.key, firstBelow(n)))
		return
	}
	n.field = fd
	s.fields = append(s.fields, fd)
}

// firstBelow names a field under n (for a message).
func firstBelow(n *node) string {
	if n.field != nil {
		return n.field.key
	}
	keys := make([]string, 0, len(n.kids))
	for k := range n.kids {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if s := firstBelow(n.kids[k]); s != "" {
			return s
		}
	}
	return ""
}

// compilePattern compiles a form-js (JavaScript) pattern with Go's regexp:
// \uXXXX and \u{X...} escapes are translated; lookarounds and
// backreferences have no Go equivalent and fail. A pattern whose expanded
// size is over maxPatternSize, or over what is left of the form's budget,
// is not compiled. It returns the size used.
func compilePattern(p string, budget int) (*regexp.Regexp, int, error) {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '\\' || i+1 >= len(p) {
			b.WriteByte(c)
			continue
		}
		next := p[i+1]
		switch {
		case next == 'u' && i+2 < len(p) && p[i+2] == '{':
			if end := strings.IndexByte(p[i+3:], '}'); end >= 0 {
				b.WriteString(`\x{` + p[i+3:i+3+end] + `}`)
				i += 3 + end
				continue
			}
		case next == 'u' && i+6 <= len(p) && isHex(p[i+2:i+6]):
			b.WriteString(`\x{` + p[i+2:i+6] + `}`)
			i += 5
			continue
		}
		b.WriteByte(c)
		b.WriteByte(next)
		i++
	}
	expr := b.String()
	parsed, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			return nil, 0, fmt.Errorf("%s: %s", se.Code, se.Expr)
		}
		return nil, 0, err
	}
	size := patternSize(parsed, maxPatternSize)
	switch {
	case size > maxPatternSize:
		return nil, 0, fmt.Errorf("too complex: it expands to more than %d steps", maxPatternSize)
	case size > budget:
		return nil, 0, fmt.Errorf("the form's patterns together expand to more than %d steps", maxFormPatternSize)
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, 0, err
	}
	return re, size, nil
}

// Compiling a pattern costs time in proportion to its expanded size
// (counted repetitions multiply); these bound one pattern, and all the
// patterns of a form.
const (
	maxPatternSize     = 10_000
	maxFormPatternSize = 200_000
)

// patternSize estimates the compiled size of a parsed pattern, stopping
// once it exceeds limit.
func patternSize(re *syntax.Regexp, limit int) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpRepeat:
		n := re.Max
		if n < 0 {
			n = re.Min + 1
		}
		sub := patternSize(re.Sub[0], limit)
		if sub > 0 && n+1 > limit/sub {
			return limit + 1
		}
		return (n + 1) * sub
	}
	size := 1
	for _, sub := range re.Sub {
		size += patternSize(sub, limit)
		if size > limit {
			return limit + 1
		}
	}
	return size
}

func isHex(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}
