package model

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/batonhq/baton/internal/expr"
)

// URLPos says where a piece of an HTTP call's URL template sits.
type URLPos int

// URL positions, in the order they appear in a URL.
const (
	// URLBase is the scheme, host and port (and whatever an env base
	// placeholder brings with it). Only literal text and {{env.NAME}}
	// placeholders may stand here.
	URLBase URLPos = iota
	URLPath
	URLQuery
	URLFragment
)

func (p URLPos) String() string {
	switch p {
	case URLBase:
		return "scheme, host and port"
	case URLPath:
		return "path"
	case URLQuery:
		return "query"
	default:
		return "fragment"
	}
}

// URLPart is a piece of a URL template: literal text, or a {{...}}
// placeholder whose expression is Text.
type URLPart struct {
	Text        string
	Placeholder bool
	// Env is set on a placeholder that reads only the operator's
	// environment (env.NAME): its value is trusted and used as written.
	Env bool
	Pos URLPos
	// Column is the 1-based column (in runes) of the part in the template.
	Column int
}

// envOnly matches a placeholder expression that reads one value of the
// operator's environment: env.NAME, env["NAME"] or env['NAME'].
var envOnly = regexp.MustCompile(`^\s*env\s*(?:\.\s*[A-Za-z_]\w*|\[\s*(?:"[^"\\]*"|'[^'\\]*')\s*\])\s*$`)

// SplitURLTemplate splits an HTTP call's URL template into literal and
// placeholder parts, each with its position in the URL, so that every
// placeholder value can be escaped for where it stands. It refuses a
// template whose scheme, host or port could come from process variables:
// the authority must be written literally or come from {{env.NAME}}
// placeholders, and it ends at the first "/", "?" or "#" written after
// "://" (or after a leading env placeholder, which may supply the whole
// base "https://host:port/prefix").
func SplitURLTemplate(src string) ([]URLPart, error) {
	if _, err := expr.CompileTemplate(src); err != nil {
		return nil, err
	}
	var parts []URLPart
	pos := URLBase
	started := false // the authority has begun ("://" or a leading env base)
	col := 1
	addLiteral := func(s string) {
		for s != "" {
			cut := len(s)
			next := pos
			switch pos {
			case URLBase:
				i := strings.IndexAny(s, "/?#")
				if j := strings.Index(s, "://"); j >= 0 && i == j+1 {
					// The scheme separator: the authority begins.
					started = true
					parts = append(parts, URLPart{Text: s[:j+3], Pos: pos, Column: col})
					col += runeLen(s[:j+3])
					s = s[j+3:]
					continue
				}
				if !started {
					break
				}
				if i >= 0 {
					cut, next = i, map[byte]URLPos{'/': URLPath, '?': URLQuery, '#': URLFragment}[s[i]]
				}
			case URLPath:
				if i := strings.IndexAny(s, "?#"); i >= 0 {
					cut, next = i, map[byte]URLPos{'?': URLQuery, '#': URLFragment}[s[i]]
				}
			case URLQuery:
				if i := strings.IndexByte(s, '#'); i >= 0 {
					cut, next = i, URLFragment
				}
			}
			if cut > 0 {
				parts = append(parts, URLPart{Text: s[:cut], Pos: pos, Column: col})
				col += runeLen(s[:cut])
			}
			s = s[cut:]
			if next == pos {
				return
			}
			pos = next
		}
	}
	rest := 0
	for {
		open, end := nextPlaceholder(src, rest)
		if open < 0 {
			break
		}
		addLiteral(src[rest:open])
		text := src[open+2 : end]
		p := URLPart{Text: text, Placeholder: true, Env: envOnly.MatchString(text), Pos: pos, Column: col}
		if pos == URLBase && !p.Env {
			return nil, fmt.Errorf("placeholder {{%s}} at column %d would let process variables set the scheme, host or port; write them literally or take them from {{env.NAME}}, and put placeholders over variables after the first \"/\", \"?\" or \"#\"", strings.TrimSpace(text), col)
		}
		if pos == URLBase && open == 0 {
			started = true // a leading env placeholder supplies the base
		}
		parts = append(parts, p)
		col += runeLen(src[open : end+2])
		rest = end + 2
	}
	addLiteral(src[rest:])
	return parts, nil
}

// nextPlaceholder finds the next placeholder at or after from: the offset
// of its "{{" and of its closing "}}", or -1, -1. The closing braces are
// the first "}}" for which the placeholder compiles as a template on its
// own, which is exactly where expr's template parser ends it (strings and
// braces inside the expression may hold "}}").
func nextPlaceholder(src string, from int) (open, end int) {
	i := strings.Index(src[from:], "{{")
	if i < 0 {
		return -1, -1
	}
	open = from + i
	for j := open + 2; ; {
		k := strings.Index(src[j:], "}}")
		if k < 0 {
			return -1, -1
		}
		end = j + k
		if t, err := expr.CompileTemplate(src[open : end+2]); err == nil && t != nil {
			return open, end
		}
		j = end + 1
	}
}

func runeLen(s string) int { return len([]rune(s)) }

// httpTemplates checks an HTTP call's URL, query and header templates at
// deploy: they compile, the URL cannot be sent elsewhere by a variable, and
// header names and literal values are valid on the wire.
func (b *builder) httpTemplates(n *Node) {
	h := n.HTTP
	if strings.TrimSpace(h.URL) != "" {
		if _, err := SplitURLTemplate(h.URL); err != nil {
			b.errf(n.Line, n.ID, "http.url", "%v", err)
		} else {
			b.templateFunctions(n, "http.url", h.URL)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(h.Query)) {
		if _, err := expr.CompileTemplate(h.Query[k]); err != nil {
			b.errf(n.Line, n.ID, "http.query."+k, "%v", err)
		} else {
			b.templateFunctions(n, "http.query."+k, h.Query[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(h.Headers)) {
		if !ValidHeaderName(k) {
			b.errf(n.Line, n.ID, "http.headers", "%q is not a valid HTTP header name", k)
			continue
		}
		if _, err := expr.CompileTemplate(h.Headers[k]); err != nil {
			b.errf(n.Line, n.ID, "http.headers."+k, "%v", err)
		} else if b.templateFunctions(n, "http.headers."+k, h.Headers[k]); !ValidHeaderValue(h.Headers[k]) {
			b.errf(n.Line, n.ID, "http.headers."+k, "header value holds a control character (CR, LF, NUL...)")
		}
	}
}

// ValidHeaderName reports whether s is an HTTP header field name (an RFC
// 9110 token).
func ValidHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// ValidHeaderValue reports whether s may be sent as an HTTP header value:
// no control characters other than horizontal tab.
func ValidHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// templateFunctions refuses a template placeholder that calls a function
// that does not exist.
func (b *builder) templateFunctions(n *Node, field, src string) {
	for rest := 0; ; {
		open, end := nextPlaceholder(src, rest)
		if open < 0 {
			return
		}
		if name, _ := unknownFunction(src[open+2 : end]); name != "" {
			b.errf(n.Line, n.ID, field, "unknown function %q in placeholder {{%s}}: Baton expressions have no function of that name", name, strings.TrimSpace(src[open+2:end]))
		}
		rest = end + 2
	}
}
