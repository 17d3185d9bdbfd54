package feel

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF   tokKind = iota
	tNum           // 12, 1.5
	tStr           // "text"
	tName          // a word: letters, digits, _
	tQuote         // `a name`
	tOp            // punctuation and operators
)

type token struct {
	kind tokKind
	text string // the word, the decoded string, the operator
	pos  int    // byte offset in the source
	end  int
}

func (t token) is(op string) bool { return t.kind == tOp && t.text == op }

// keywords cannot be names on their own.
var keywords = map[string]bool{
	"and": true, "or": true, "if": true, "then": true, "else": true, "for": true, "in": true,
	"return": true, "some": true, "every": true, "satisfies": true, "between": true,
	"instance": true, "of": true, "function": true, "null": true, "true": true, "false": true,
}

func isNameStart(r rune) bool { return r == '_' || r == '$' || unicode.IsLetter(r) }
func isNamePart(r rune) bool {
	return r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\''
}

// lex splits src into tokens.
func lex(src string) ([]token, *Error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
			continue
		case strings.HasPrefix(src[i:], "//"):
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				i = len(src)
			} else {
				i += j
			}
			continue
		case strings.HasPrefix(src[i:], "/*"):
			j := strings.Index(src[i+2:], "*/")
			if j < 0 {
				return nil, errorAt(src, i, "unterminated comment")
			}
			i += j + 4
			continue
		}
		start := i
		switch {
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && isDigit(src[i+1]) && !afterOperand(toks):
			for i < len(src) && isDigit(src[i]) {
				i++
			}
			if i+1 < len(src) && src[i] == '.' && isDigit(src[i+1]) {
				i++
				for i < len(src) && isDigit(src[i]) {
					i++
				}
			}
			toks = append(toks, token{tNum, src[start:i], start, i})
			continue
		case c == '"':
			s, end, err := lexString(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tStr, s, start, end})
			i = end
			continue
		case c == '`':
			j := strings.IndexByte(src[i+1:], '`')
			if j < 0 {
				return nil, errorAt(src, i, "unterminated backtick name")
			}
			toks = append(toks, token{tQuote, src[i+1 : i+1+j], start, i + j + 2})
			i += j + 2
			continue
		}
		r, size := utf8.DecodeRuneInString(src[i:])
		if isNameStart(r) {
			i += size
			for i < len(src) {
				r, size := utf8.DecodeRuneInString(src[i:])
				if !isNamePart(r) {
					break
				}
				i += size
			}
			toks = append(toks, token{tName, src[start:i], start, i})
			continue
		}
		op := ""
		for _, o := range []string{"**", "..", "!=", "<=", ">=", "->"} {
			if strings.HasPrefix(src[i:], o) {
				op = o
				break
			}
		}
		if op == "" {
			if !strings.ContainsRune("+-*/=<>()[]{},.:?@", rune(c)) {
				return nil, errorAt(src, i, "unexpected character %q", r)
			}
			op = string(c)
		}
		i += len(op)
		toks = append(toks, token{tOp, op, start, i})
	}
	toks = append(toks, token{tEOF, "", len(src), len(src)})
	return toks, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// afterOperand reports whether the last token ends an operand, so that a
// following "." is a path and not the start of a number like ".5".
func afterOperand(toks []token) bool {
	if len(toks) == 0 {
		return false
	}
	t := toks[len(toks)-1]
	switch t.kind {
	case tName, tQuote, tStr, tNum:
		return !keywords[t.text] || t.kind != tName
	case tOp:
		return t.text == ")" || t.text == "]" || t.text == "}" || t.text == "?"
	}
	return false
}

func lexString(src string, at int) (string, int, *Error) {
	var b strings.Builder
	i := at + 1
	for i < len(src) {
		c := src[i]
		switch c {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			if i+1 >= len(src) {
				return "", 0, errorAt(src, i, "unterminated string")
			}
			e := src[i+1]
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'f':
				b.WriteByte('\f')
			case 'b':
				b.WriteByte('\b')
			case '"', '\\', '\'':
				b.WriteByte(e)
			case 'u', 'U':
				n := 4
				if e == 'U' {
					n = 6
				}
				if i+2+n > len(src) {
					return "", 0, errorAt(src, i, "bad unicode escape")
				}
				v, err := strconv.ParseUint(src[i+2:i+2+n], 16, 32)
				if err != nil {
					return "", 0, errorAt(src, i, "bad unicode escape")
				}
				r := rune(v)
				i += n
				// A surrogate pair written as two \u escapes.
				if r >= 0xD800 && r < 0xDC00 && i+8 <= len(src) && src[i+2] == '\\' && src[i+3] == 'u' {
					if lo, err := strconv.ParseUint(src[i+4:i+8], 16, 32); err == nil && lo >= 0xDC00 && lo < 0xE000 {
						r = (r-0xD800)<<10 + (rune(lo) - 0xDC00) + 0x10000
						i += 6
					}
				}
				b.WriteRune(r)
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
			i += 2
			continue
		}
		b.WriteByte(c)
		i++
	}
	return "", 0, errorAt(src, at, "unterminated string")
}
