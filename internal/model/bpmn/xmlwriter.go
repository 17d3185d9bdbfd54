package bpmn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// zeebeExpr writes a mapping source the way Zeebe reads it: an expression
// with a leading "=".
func zeebeExpr(s string) string {
	if strings.HasPrefix(strings.TrimSpace(s), "=") {
		return s
	}
	return "=" + exprBody(s)
}

// zeebeInput writes an input mapping source: a string literal as the
// static value Zeebe reads it as (how zeebeSource read it), so that a
// Camunda model's static inputs stay static; anything else as zeebeExpr.
func zeebeInput(s string) string {
	var v string
	if t := strings.TrimSpace(s); strings.HasPrefix(t, `"`) && json.Unmarshal([]byte(t), &v) == nil && !strings.HasPrefix(strings.TrimSpace(v), "=") {
		return v
	}
	return zeebeExpr(s)
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// nsForPrefix maps the canonical prefixes back to their namespaces.
func nsForPrefix(p string) string {
	for ns, q := range canonicalPrefix {
		if q == p {
			return ns
		}
	}
	return ""
}

func reservedPrefix(p string) bool {
	switch strings.ToLower(p) {
	case "bpmn", "xsi", "xml", "xmlns", "bpmndi", "dc", "di":
		return true
	}
	return false
}

// validName reports whether s is an XML NCName of ASCII letters, digits,
// '_', '-' and '.', starting with a letter or '_'.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// ncName turns s into a string usable inside an id.
func ncName(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "x"
	}
	return b.String()
}

// xmlWriter writes indented XML. Attributes with empty values are left
// out.
type xmlWriter struct {
	b     bytes.Buffer
	depth int
}

func (w *xmlWriter) raw(s string) { w.b.WriteString(s) }

func (w *xmlWriter) indent() {
	for i := 0; i < w.depth; i++ {
		w.b.WriteString("  ")
	}
}

func (w *xmlWriter) start(tag string, attrs []string) {
	w.indent()
	w.b.WriteByte('<')
	w.b.WriteString(tag)
	for i := 0; i+1 < len(attrs); i += 2 {
		if attrs[i+1] == "" {
			continue
		}
		w.b.WriteByte(' ')
		w.b.WriteString(attrs[i])
		w.b.WriteString(`="`)
		escape(&w.b, attrs[i+1], true)
		w.b.WriteByte('"')
	}
}

func (w *xmlWriter) open(tag string, attrs ...string) {
	w.start(tag, attrs)
	w.b.WriteString(">\n")
	w.depth++
}

func (w *xmlWriter) close(tag string) {
	w.depth--
	w.indent()
	fmt.Fprintf(&w.b, "</%s>\n", tag)
}

func (w *xmlWriter) leaf(tag string, attrs ...string) {
	w.start(tag, attrs)
	w.b.WriteString(" />\n")
}

// text writes <tag attrs>text</tag>.
func (w *xmlWriter) text(tag, text string, attrs ...string) {
	w.start(tag, attrs)
	w.b.WriteByte('>')
	escape(&w.b, text, false)
	fmt.Fprintf(&w.b, "</%s>\n", tag)
}

// escape writes s as XML character data or an attribute value. Characters
// XML cannot hold become U+FFFD; in attributes, tabs and newlines are
// written as references so that they survive attribute normalisation.
func escape(b *bytes.Buffer, s string, attr bool) {
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"' && attr:
			b.WriteString("&quot;")
		case r == '\r':
			b.WriteString("&#xD;")
		case (r == '\n' || r == '\t') && attr:
			fmt.Fprintf(b, "&#x%X;", r)
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r < 0x20, r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF, r > utf8.MaxRune:
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
}

// compactJSON is raw without insignificant white space (raw itself when it
// is not valid JSON), for JSON written into an attribute.
func compactJSON(raw []byte) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}
