package dmn

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// DMN model namespaces ParseXML reads.
const (
	nsDMN11 = "http://www.omg.org/spec/DMN/20151101/dmn.xsd"
	nsDMN12 = "http://www.omg.org/spec/DMN/20180521/MODEL/"
	nsDMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"
)

// Limits on the XML itself.
const (
	maxDepth    = 100
	maxElements = 1_000_000
)

// node is one element of the model namespace. Elements of other
// namespaces (diagram interchange, vendor extensions) are skipped while
// reading.
type node struct {
	local string
	attrs []xml.Attr
	kids  []*node
	text  strings.Builder
	line  int
}

func (n *node) attr(local string) string {
	for _, a := range n.attrs {
		if a.Name.Local == local && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

func (n *node) child(local string) *node {
	for _, k := range n.kids {
		if k.local == local {
			return k
		}
	}
	return nil
}

func (n *node) children(local string) []*node {
	var out []*node
	for _, k := range n.kids {
		if k.local == local {
			out = append(out, k)
		}
	}
	return out
}

// ParseXML reads the decisions of a DMN 1.1, 1.2 or 1.3 document
// (definitions with one or more decisions, each holding a decisionTable,
// a literalExpression or a context of literal expressions, and possibly
// requiring other decisions of the document), in document order. name is used in error messages, usually the file
// name. Every problem found is reported, as an ErrorList of *Error with
// the line, decision id, rule and column.
func ParseXML(name string, data []byte) ([]*Decision, error) {
	b := &builder{file: name}
	if len(data) > MaxSourceBytes {
		b.errorf(0, "", "document is larger than %d bytes", MaxSourceBytes)
		return nil, b.err()
	}
	root, err := readXML(data)
	if err != nil {
		var se *syntaxError
		if errors.As(err, &se) {
			b.errorf(se.line, "", "%s", se.msg)
		} else {
			b.errorf(0, "", "%v", err)
		}
		return nil, b.err()
	}
	if root.local != "definitions" {
		b.errorf(root.line, "", "root element is <%s>, want DMN <definitions>", root.local)
		return nil, b.err()
	}
	var (
		out  []*Decision
		ids  = map[string]int{}
		reqs = map[*Decision][]requirement{}
	)
	for _, dn := range root.children("decision") {
		id := dn.attr("id")
		if prev, dup := ids[id]; dup && id != "" {
			b.errorf(dn.line, id, "decision id is also used on line %d", prev)
			continue
		}
		ids[id] = dn.line
		var d *Decision
		if dn.child("literalExpression") != nil || dn.child("context") != nil {
			d = readLogic(b, dn)
		} else if s := readDecision(b, dn); s != nil {
			d = b.build(s)
		}
		if d != nil {
			reqs[d] = requirements(dn)
			out = append(out, d)
		}
	}
	if len(b.errs) == 0 {
		link(b, out, reqs)
	}
	if len(ids) == 0 && len(b.errs) == 0 {
		b.errorf(root.line, "", "the document has no decision")
	}
	if err := b.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// readDecision reads a decision element into a spec; it reports and
// returns nil for a decision that is not a decision table.
func readDecision(b *builder, dn *node) *tableSpec {
	id := dn.attr("id")
	dt := dn.child("decisionTable")
	if dt == nil {
		kind := "no decision logic"
		for _, k := range dn.kids {
			switch k.local {
			case "invocation":
				kind = "an invocation"
			case "list", "relation", "functionDefinition":
				kind = "a " + k.local
			}
		}
		b.errorf(dn.line, id, "decision has %s; only decision tables, literal expressions and contexts of literal expressions are supported", kind)
		return nil
	}
	s := &tableSpec{
		id:          id,
		name:        dn.attr("name"),
		line:        dn.line,
		hitPolicy:   dt.attr("hitPolicy"),
		aggregation: dt.attr("aggregation"),
		tableLine:   dt.line,
	}
	for _, in := range dt.children("input") {
		is := inputSpec{label: in.attr("label"), line: in.line}
		if ie := in.child("inputExpression"); ie != nil {
			is.typeRef = ie.attr("typeRef")
			is.line = ie.line
			if t := ie.child("text"); t != nil {
				is.text, is.line = t.text.String(), t.line
			}
			checkLanguage(b, ie, id, 0, func(e *Error) { e.Input = len(s.inputs) + 1; e.Label = is.label })
		}
		s.inputs = append(s.inputs, is)
	}
	for _, on := range dt.children("output") {
		os := outputSpec{name: on.attr("name"), label: on.attr("label"), typeRef: on.attr("typeRef"), line: on.line}
		if ov := on.child("outputValues"); ov != nil {
			c := cellSpec{line: ov.line}
			if t := ov.child("text"); t != nil {
				c.text, c.line = t.text.String(), t.line
			}
			os.values = &c
		}
		s.outputs = append(s.outputs, os)
	}
	for i, rn := range dt.children("rule") {
		rs := ruleSpec{line: rn.line}
		for _, e := range rn.children("inputEntry") {
			j := len(rs.inputs) + 1
			checkLanguage(b, e, id, i+1, func(err *Error) { err.Input = j })
			rs.inputs = append(rs.inputs, cell(e))
		}
		for _, e := range rn.children("outputEntry") {
			k := len(rs.outputs) + 1
			checkLanguage(b, e, id, i+1, func(err *Error) { err.Output = k })
			rs.outputs = append(rs.outputs, cell(e))
		}
		s.rules = append(s.rules, rs)
	}
	return s
}

// cell returns the text of an entry element (its <text> child).
func cell(e *node) cellSpec {
	if t := e.child("text"); t != nil {
		return cellSpec{text: t.text.String(), line: t.line}
	}
	return cellSpec{line: e.line}
}

// checkLanguage refuses an expressionLanguage other than FEEL.
func checkLanguage(b *builder, e *node, decision string, rule int, locate func(*Error)) {
	lang := e.attr("expressionLanguage")
	l := strings.ToLower(lang)
	if l == "" || strings.Contains(l, "feel") {
		return
	}
	err := &Error{Line: e.line, Decision: decision, Rule: rule, Msg: fmt.Sprintf("expression language %q is not supported; use FEEL", clip(lang, 60))}
	locate(err)
	b.add(err)
}

// syntaxError is a failure to read the document as DMN XML.
type syntaxError struct {
	line int
	msg  string
}

func (e *syntaxError) Error() string { return e.msg }

// readXML reads data into a tree of the elements in the root's DMN
// namespace. It refuses DTDs (no entity is ever expanded), encodings
// other than UTF-8, nesting deeper than maxDepth and more than
// maxElements elements.
func readXML(data []byte) (*node, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, &syntaxError{line: 1 + bytes.Count(data[:invalidAt(data)], []byte{'\n'}), msg: "not XML: invalid UTF-8 (save the file as UTF-8)"}
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return r, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q (use UTF-8)", clip(label, 40))
	}
	var (
		root    *node
		ns      string
		stack   []*node
		skip    int
		count   int
		lineOff int
		line    = 1
		done    bool
	)
	lineAt := func(off int64) int {
		o := min(int(off), len(data))
		if o > lineOff {
			line += bytes.Count(data[lineOff:o], []byte{'\n'})
			lineOff = o
		}
		return line
	}
	for {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, &syntaxError{line: se.Line, msg: "not XML: " + se.Msg}
			}
			return nil, &syntaxError{line: lineAt(dec.InputOffset()), msg: "not XML: " + err.Error()}
		}
		ln := lineAt(off)
		switch t := tok.(type) {
		case xml.StartElement:
			count++
			if count > maxElements {
				return nil, &syntaxError{line: ln, msg: fmt.Sprintf("document has more than %d XML elements", maxElements)}
			}
			if len(stack)+skip+1 > maxDepth {
				return nil, &syntaxError{line: ln, msg: fmt.Sprintf("XML nesting is deeper than %d levels", maxDepth)}
			}
			if done {
				return nil, &syntaxError{line: ln, msg: "not XML: element after the root element"}
			}
			if root == nil {
				switch t.Name.Space {
				case nsDMN11, nsDMN12, nsDMN13:
				default:
					return nil, &syntaxError{line: ln, msg: fmt.Sprintf("<%s> is in namespace %q, not DMN 1.1, 1.2 or 1.3 (%s)", t.Name.Local, clip(t.Name.Space, 80), nsDMN13)}
				}
				ns = t.Name.Space
			}
			if skip > 0 || t.Name.Space != ns {
				skip++
				continue
			}
			n := &node{local: t.Name.Local, attrs: t.Attr, line: ln}
			if root == nil {
				root = n
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			if skip > 0 {
				skip--
				continue
			}
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			if len(stack) == 0 {
				done = true
			}
		case xml.CharData:
			if skip == 0 && len(stack) > 0 {
				n := stack[len(stack)-1]
				if n.text.Len() < maxEntryLen+1 {
					n.text.Write(t)
				}
			}
		case xml.Directive:
			return nil, &syntaxError{line: ln, msg: "DTDs and <!...> declarations are not allowed"}
		}
	}
	if root == nil {
		return nil, &syntaxError{line: lineAt(int64(len(data))), msg: "not XML: no root element"}
	}
	return root, nil
}

func invalidAt(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(data)
}
