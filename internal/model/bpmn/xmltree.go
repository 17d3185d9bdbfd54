package bpmn

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/batonhq/baton/internal/model"
)

// Namespaces Baton reads.
const (
	nsBPMN    = "http://www.omg.org/spec/BPMN/20100524/MODEL"
	nsBPMNDI  = "http://www.omg.org/spec/BPMN/20100524/DI"
	nsDC      = "http://www.omg.org/spec/DD/20100524/DC"
	nsDI      = "http://www.omg.org/spec/DD/20100524/DI"
	nsXSI     = "http://www.w3.org/2001/XMLSchema-instance"
	nsCamunda = "http://camunda.org/schema/1.0/bpmn"
	nsZeebe   = "http://camunda.org/schema/zeebe/1.0"
	nsBaton   = "https://baton.dev/schema/bpmn"
	nsXMLNS   = "xmlns"

	// nsBPMNDraft is the namespace of the BPMN 2.0 beta drafts; documents
	// in it predate the standard and are refused.
	nsBPMNDraft = "http://schema.omg.org/spec/BPMN/2.0"
)

// Limits on the XML itself, beyond model.MaxSourceBytes and model.MaxNodes.
const (
	// maxDepth bounds element nesting.
	maxDepth = 200
	// maxElements bounds the XML elements of one document, diagram
	// elements included.
	maxElements = 10 * model.MaxNodes
)

// element is one XML element of the semantic part of a document. Diagram
// (BPMN DI) subtrees are skipped while reading and never stored.
type element struct {
	name  xml.Name // Space is the namespace URL
	attrs []xml.Attr
	kids  []*element
	text  string // character data directly inside the element
	line  int
	col   int // 1-based column (in runes) of its "<"
}

// is reports whether e is the element space:local.
func (e *element) is(space, local string) bool {
	return e.name.Local == local && e.name.Space == space
}

// bpmn reports whether e is in the BPMN model namespace.
func (e *element) bpmn() bool { return e.name.Space == nsBPMN }

// attr returns an unqualified attribute (or one qualified with the BPMN
// namespace, which some tools write).
func (e *element) attr(local string) string {
	for _, a := range e.attrs {
		if a.Name.Local == local && (a.Name.Space == "" || a.Name.Space == nsBPMN) {
			return a.Value
		}
	}
	return ""
}

// hasAttr reports whether the unqualified attribute is present.
func (e *element) hasAttr(local string) bool {
	for _, a := range e.attrs {
		if a.Name.Local == local && (a.Name.Space == "" || a.Name.Space == nsBPMN) {
			return true
		}
	}
	return false
}

// nsAttr returns an attribute in namespace space.
func (e *element) nsAttr(space, local string) string {
	for _, a := range e.attrs {
		if a.Name.Local == local && a.Name.Space == space {
			return a.Value
		}
	}
	return ""
}

// child returns the first child space:local, or nil.
func (e *element) child(space, local string) *element {
	for _, k := range e.kids {
		if k.is(space, local) {
			return k
		}
	}
	return nil
}

// children returns the children space:local.
func (e *element) children(space, local string) []*element {
	var out []*element
	for _, k := range e.kids {
		if k.is(space, local) {
			out = append(out, k)
		}
	}
	return out
}

// allText returns the character data of e and its descendants.
func (e *element) allText() string {
	if len(e.kids) == 0 {
		return e.text
	}
	var b strings.Builder
	var walk func(*element)
	walk = func(x *element) {
		b.WriteString(x.text)
		for _, k := range x.kids {
			walk(k)
		}
	}
	walk(e)
	return b.String()
}

// document is a read XML document: its root and the prefix each namespace
// was declared with (first declaration wins).
type document struct {
	root     *element
	prefixes map[string]string
}

// syntaxError is a document-level failure to read the XML.
type syntaxError struct {
	line, col int
	msg       string
}

func (e *syntaxError) Error() string { return e.msg }

// skipped reports whether elements in namespace space are dropped while
// reading: diagram interchange has no execution meaning and is most of a
// modeller's file.
func skipped(space string) bool {
	return space == nsBPMNDI || space == nsDC || space == nsDI
}

// readXML reads data into an element tree. It refuses DTDs (so no entity
// is ever expanded), nesting deeper than maxDepth and more than
// maxElements elements. Lines are 1-based and count from the start of
// data.
func readXML(data []byte) (*document, error) {
	data, err := toUTF8(data)
	if err != nil {
		return nil, err
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	// toUTF8 has already converted the input; whatever the declaration
	// says, the bytes are UTF-8 now.
	dec.CharsetReader = func(label string, r io.Reader) (io.Reader, error) { return r, nil }

	doc := &document{prefixes: map[string]string{}}
	var (
		stack    []*element
		text     []*strings.Builder
		skip     int // depth inside a skipped subtree (0: not skipping)
		count    int
		rootDone bool
	)
	pos := newPositioner(data)
	lineAt := func(off int64) int {
		l, _ := pos.at(off)
		return l
	}
	for {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			l, c := pos.at(dec.InputOffset())
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				if se.Line != l {
					c = 0
				}
				return nil, &syntaxError{line: se.Line, col: c, msg: "not XML: " + se.Msg}
			}
			return nil, &syntaxError{line: l, col: c, msg: "not XML: " + err.Error()}
		}
		ln, col := pos.at(off)
		switch t := tok.(type) {
		case xml.StartElement:
			count++
			if count > maxElements {
				return nil, &syntaxError{line: ln, col: col, msg: fmt.Sprintf("document has more than %d XML elements", maxElements)}
			}
			depth := len(stack) + skip + 1
			if depth > maxDepth {
				return nil, &syntaxError{line: ln, col: col, msg: fmt.Sprintf("XML nesting is deeper than %d levels", maxDepth)}
			}
			if rootDone {
				return nil, &syntaxError{line: ln, col: col, msg: fmt.Sprintf("not XML: element <%s> after the root element", t.Name.Local)}
			}
			for _, a := range t.Attr {
				if a.Name.Space == nsXMLNS {
					if _, ok := doc.prefixes[a.Value]; !ok {
						doc.prefixes[a.Value] = a.Name.Local
					}
				}
			}
			if skip > 0 || (len(stack) > 0 && skipped(t.Name.Space)) {
				skip++
				continue
			}
			e := &element{name: t.Name, attrs: t.Attr, line: ln, col: col}
			if len(stack) == 0 {
				doc.root = e
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, e)
			}
			stack = append(stack, e)
			text = append(text, &strings.Builder{})
		case xml.EndElement:
			if skip > 0 {
				skip--
				continue
			}
			if len(stack) == 0 {
				// The decoder checks nesting; this cannot happen.
				return nil, &syntaxError{line: ln, col: col, msg: "not XML: unexpected end element"}
			}
			e := stack[len(stack)-1]
			e.text = text[len(text)-1].String()
			stack = stack[:len(stack)-1]
			text = text[:len(text)-1]
			if len(stack) == 0 {
				rootDone = true
			}
		case xml.CharData:
			if skip > 0 {
				continue
			}
			if len(stack) == 0 {
				if s := strings.TrimSpace(string(t)); s != "" {
					where := "before"
					if rootDone {
						where = "after"
					}
					lead := len(t) - len(bytes.TrimLeft(t, " \t\r\n"))
					ln, col = pos.at(off + int64(lead))
					return nil, &syntaxError{line: ln, col: col, msg: fmt.Sprintf("not XML: text %q %s the root element", clip(s, 20), where)}
				}
				continue
			}
			text[len(text)-1].Write(t)
		case xml.Directive:
			return nil, &syntaxError{line: ln, col: col, msg: "DTDs and <!...> declarations are not allowed (no entity is ever expanded)"}
		case xml.ProcInst, xml.Comment:
		}
	}
	if doc.root == nil {
		return nil, &syntaxError{line: lineAt(int64(len(data))), msg: "not XML: no root element"}
	}
	return doc, nil
}

// toUTF8 returns data as UTF-8: a UTF-8 byte order mark is dropped and
// Latin-1 family encodings named in the XML declaration are converted.
// Newlines are kept, so lines stay the same.
func toUTF8(data []byte) ([]byte, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if bytes.HasPrefix(data, []byte("\xfe\xff")) || bytes.HasPrefix(data, []byte("\xff\xfe")) {
		return fromUTF16(data)
	}
	enc := declaredEncoding(data)
	switch strings.ToLower(enc) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		if !utf8.Valid(data) {
			return nil, &syntaxError{line: firstInvalidLine(data), msg: "not XML: invalid UTF-8"}
		}
		return data, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "iso-8859-15", "windows-1252", "cp1252":
		// Windows-1252 and ISO-8859-15 differ from Latin-1 in a few
		// printable characters only; reading them as Latin-1 keeps every
		// ASCII id and name intact.
		out := make([]byte, 0, len(data)+len(data)/8)
		for _, c := range data {
			if c < utf8.RuneSelf {
				out = append(out, c)
			} else {
				out = utf8.AppendRune(out, rune(c))
			}
		}
		return out, nil
	default:
		return nil, &syntaxError{line: 1, msg: fmt.Sprintf("not XML: unsupported encoding %q (use UTF-8)", clip(enc, 40))}
	}
}

// declaredEncoding returns the encoding pseudo-attribute of the XML
// declaration, or "".
func declaredEncoding(data []byte) string {
	if !bytes.HasPrefix(data, []byte("<?xml")) {
		return ""
	}
	end := bytes.Index(data, []byte("?>"))
	if end < 0 || end > 512 {
		return ""
	}
	decl := string(data[:end])
	i := strings.Index(decl, "encoding")
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(decl[i+len("encoding"):], " \t\r\n")
	if !strings.HasPrefix(rest, "=") {
		return ""
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return ""
	}
	q := rest[0]
	j := strings.IndexByte(rest[1:], q)
	if j < 0 {
		return ""
	}
	return rest[1 : 1+j]
}

func firstInvalidLine(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return bytes.Count(data[:i], []byte{'\n'}) + 1
		}
		i += n
	}
	return 0
}

// clip shortens s to n runes for messages.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// positioner turns increasing byte offsets into lines and columns in one
// pass over the data.
type positioner struct {
	data      []byte
	off       int // offset reached
	line, col int // position at off
}

func newPositioner(data []byte) *positioner { return &positioner{data: data, line: 1, col: 1} }

// at returns the 1-based line and rune column of offset o; offsets must
// not decrease between calls (a smaller one answers the last position).
func (p *positioner) at(o64 int64) (line, col int) {
	o := min(int(o64), len(p.data))
	if o > p.off {
		seg := p.data[p.off:o]
		if nl := bytes.LastIndexByte(seg, '\n'); nl >= 0 {
			p.line += bytes.Count(seg, []byte{'\n'})
			p.col = utf8.RuneCount(seg[nl+1:]) + 1
		} else {
			p.col += utf8.RuneCount(seg)
		}
		p.off = o
	}
	return p.line, p.col
}

// fromUTF16 converts a UTF-16 document that starts with its byte order
// mark (FE FF big-endian, FF FE little-endian) to UTF-8. The declaration's
// encoding="UTF-16" is then ignored: the bytes are UTF-8.
func fromUTF16(data []byte) ([]byte, error) {
	big := data[0] == 0xfe
	data = data[2:]
	if len(data)%2 != 0 {
		return nil, &syntaxError{line: 1, msg: "not XML: a UTF-16 document has an odd number of bytes"}
	}
	units := make([]uint16, len(data)/2)
	for i := range units {
		if big {
			units[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
		} else {
			units[i] = uint16(data[2*i+1])<<8 | uint16(data[2*i])
		}
	}
	out := make([]byte, 0, len(units))
	line := 1
	for i := 0; i < len(units); i++ {
		r := rune(units[i])
		switch {
		case utf16.IsSurrogate(r) && i+1 < len(units) && r < 0xdc00:
			r = utf16.DecodeRune(r, rune(units[i+1]))
			i++
			if r == utf8.RuneError {
				return nil, &syntaxError{line: line, msg: "not XML: invalid UTF-16 (an unpaired surrogate)"}
			}
		case utf16.IsSurrogate(r):
			return nil, &syntaxError{line: line, msg: "not XML: invalid UTF-16 (an unpaired surrogate)"}
		case r == '\n':
			line++
		}
		out = utf8.AppendRune(out, r)
	}
	return out, nil
}
