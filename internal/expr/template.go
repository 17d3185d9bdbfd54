package expr

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Template is a string with {{ expression }} placeholders, such as
// "{{env.BASE}}/payouts/{{id}}". Each placeholder is an expression compiled
// with Compile. A placeholder ends at the first "}}" outside string
// literals and outside braces the expression opened, so map literals and
// strings containing "}}" work. There is no escape for a literal "{{".
// A Template is safe for concurrent use.
type Template struct {
	src   string
	parts []part
}

// part is literal text, or a placeholder when prog is set.
type part struct {
	text  string
	prog  *Program
	start int // byte offset in the template of the placeholder's expression
}

// CompileTemplate parses src and compiles its placeholders. A string
// without placeholders is a template that renders as itself.
func CompileTemplate(src string) (*Template, error) {
	t := &Template{src: src}
	rest := 0
	for {
		i := strings.Index(src[rest:], "{{")
		if i < 0 {
			break
		}
		open := rest + i
		start := open + 2
		end := placeholderEnd(src, start)
		if end < 0 {
			line, col := offsetPosition(src, open)
			return nil, &Error{Expr: src, Line: line, Column: col, Msg: `placeholder "{{" is not closed with "}}"`}
		}
		if open > rest {
			t.parts = append(t.parts, part{text: src[rest:open]})
		}
		p, err := Compile(src[start:end])
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				return nil, t.shift(e, start)
			}
			return nil, err
		}
		t.parts = append(t.parts, part{prog: p, start: start})
		rest = end + 2
	}
	if rest < len(src) || len(t.parts) == 0 {
		t.parts = append(t.parts, part{text: src[rest:]})
	}
	return t, nil
}

// placeholderEnd returns the offset of the "}}" closing a placeholder whose
// expression starts at start, or -1.
func placeholderEnd(s string, start int) int {
	depth := 0
	for i := start; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'', '`':
			for i++; i < len(s) && s[i] != c; i++ {
				if s[i] == '\\' && c != '`' {
					i++
				}
			}
		case '{', '(', '[':
			depth++
		case ')', ']':
			depth--
		case '}':
			if depth <= 0 && i+1 < len(s) && s[i+1] == '}' {
				return i
			}
			depth--
		}
	}
	return -1
}

// Source returns the template as written.
func (t *Template) Source() string { return t.src }

// Render evaluates the placeholders over vars and returns the text. A
// placeholder's value is written as text: strings as they are, numbers in
// plain decimal ("1000", not "1e+03"), booleans as true/false, maps and
// lists as JSON. A nil value is an error, so that a missing field does not
// silently become an empty path segment.
func (t *Template) Render(vars map[string]any) (string, error) {
	if len(t.parts) == 1 && t.parts[0].prog == nil {
		return t.parts[0].text, nil
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.prog == nil {
			b.WriteString(p.text)
			continue
		}
		v, err := p.prog.Eval(vars)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				return "", t.shift(e, p.start)
			}
			return "", err
		}
		if err := writeValue(&b, v); err != nil {
			return "", t.shift(&Error{Msg: err.Error()}, p.start)
		}
	}
	return b.String(), nil
}

// shift turns an error on the placeholder expression starting at byte
// start into an error on the whole template.
func (t *Template) shift(e *Error, start int) *Error {
	at := start
	if e.Column > 0 {
		at += lineColumnOffset(t.src[start:], e.Line, e.Column)
	}
	line, col := offsetPosition(t.src, at)
	return &Error{Expr: t.src, Line: line, Column: col, Msg: e.Msg}
}

// lineColumnOffset converts a 1-based line and rune column in s to a byte
// offset.
func lineColumnOffset(s string, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(s[off:], '\n')
		if i < 0 {
			break
		}
		off += i + 1
	}
	for c := 1; c < col && off < len(s); c++ {
		_, size := utf8.DecodeRuneInString(s[off:])
		off += size
	}
	return off
}

// offsetPosition converts a byte offset in s to a 1-based line and rune
// column.
func offsetPosition(s string, off int) (line, col int) {
	off = min(off, len(s))
	lineStart := strings.LastIndexByte(s[:off], '\n') + 1
	return strings.Count(s[:lineStart], "\n") + 1, utf8.RuneCountInString(s[lineStart:off]) + 1
}

func writeValue(b *strings.Builder, v any) error {
	switch v := v.(type) {
	case nil:
		return errors.New("value is nil")
	case string:
		b.WriteString(v)
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int:
		b.WriteString(strconv.Itoa(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("value is %v", v)
		}
		b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
	case time.Time:
		b.WriteString(v.Format(time.RFC3339Nano))
	case time.Duration:
		b.WriteString(v.String())
	case fmt.Stringer:
		b.WriteString(v.String())
	default:
		j, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("cannot write %T as text: %v", v, err)
		}
		b.Write(j)
	}
	return nil
}
