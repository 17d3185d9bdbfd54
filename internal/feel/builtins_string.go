package feel

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// String -------------------------------------------------------------------

func defString() {
	sub := func(e *env, a []any) any {
		s, ok1 := str(a[0])
		start, ok2 := num(a[1])
		if !ok1 || !ok2 {
			return nil
		}
		rs := []rune(s)
		n := int64(len(rs))
		st, ok := start.RoundScale(0, halfEven)
		if !ok {
			return nil
		}
		i, ok := st.Int64()
		if !ok {
			return nil
		}
		if i < 0 {
			i = n + i + 1
		}
		if i <= 0 {
			i = 1
		}
		if i > n+1 {
			return ""
		}
		end := n
		if len(a) > 2 {
			l, ok := num(a[2])
			if !ok {
				return nil
			}
			lr, _ := l.RoundScale(0, halfEven)
			ln, ok := lr.Int64()
			if !ok || ln < 0 {
				return nil
			}
			if i-1+ln < end {
				end = i - 1 + ln
			}
		}
		if i-1 > end {
			return ""
		}
		return string(rs[i-1 : end])
	}
	def("substring", []string{"string", "start position"}, sub)
	def("substring", []string{"string", "start position", "length"}, sub)
	def("string length", []string{"string"}, func(e *env, a []any) any {
		if s, ok := str(a[0]); ok {
			return NewDecimal(int64(utf8.RuneCountInString(s)))
		}
		return nil
	})
	strFn := func(name string, f func(string) string) {
		def(name, []string{"string"}, func(e *env, a []any) any {
			if s, ok := str(a[0]); ok {
				return f(s)
			}
			return nil
		})
	}
	strFn("upper case", strings.ToUpper)
	strFn("lower case", strings.ToLower)
	strFn("trim", strings.TrimSpace)
	strFn("to base64", func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) })
	alias("to base64", []string{"value"})
	def("from base64", []string{"value"}, func(e *env, a []any) any {
		s, ok := str(a[0])
		if !ok {
			return nil
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || !utf8.Valid(b) {
			return nil
		}
		return string(b)
	})
	def("is blank", []string{"string"}, func(e *env, a []any) any {
		if s, ok := str(a[0]); ok {
			return strings.TrimSpace(s) == ""
		}
		return nil
	})
	str2 := func(name string, f func(s, m string) any) {
		def(name, []string{"string", "match"}, func(e *env, a []any) any {
			s, ok1 := str(a[0])
			m, ok2 := str(a[1])
			if !ok1 || !ok2 {
				return nil
			}
			return f(s, m)
		})
	}
	str2("substring before", func(s, m string) any { b, _, _ := strings.Cut(s, m); return ifFound(strings.Contains(s, m), b) })
	str2("substring after", func(s, m string) any {
		if m == "" {
			return s
		}
		_, a, found := strings.Cut(s, m)
		return ifFound(found, a)
	})
	str2("contains", func(s, m string) any { return strings.Contains(s, m) })
	str2("starts with", func(s, m string) any { return strings.HasPrefix(s, m) })
	str2("ends with", func(s, m string) any { return strings.HasSuffix(s, m) })
	replace := func(e *env, a []any) any {
		s, ok1 := str(a[0])
		pat, ok2 := str(a[1])
		rep, ok3 := str(a[2])
		if !ok1 || !ok2 || !ok3 {
			return nil
		}
		re := compileRegexp(pat, a, 3)
		if re == nil {
			return nil
		}
		out := re.ReplaceAllString(s, goReplacement(rep))
		if !concatLimit(e, len(out)) {
			return nil
		}
		return out
	}
	def("replace", []string{"input", "pattern", "replacement"}, replace)
	def("replace", []string{"input", "pattern", "replacement", "flags"}, replace)
	matches := func(e *env, a []any) any {
		s, ok1 := str(a[0])
		pat, ok2 := str(a[1])
		if !ok1 || !ok2 {
			return nil
		}
		re := compileRegexp(pat, a, 2)
		if re == nil {
			return nil
		}
		return re.MatchString(s)
	}
	def("matches", []string{"input", "pattern"}, matches)
	def("matches", []string{"input", "pattern", "flags"}, matches)
	def("split", []string{"string", "delimiter"}, func(e *env, a []any) any {
		s, ok1 := str(a[0])
		d, ok2 := str(a[1])
		if !ok1 || !ok2 {
			return nil
		}
		re := compileRegexp(d, nil, 0)
		if re == nil {
			return nil
		}
		parts := re.Split(s, -1)
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out
	})
	def("extract", []string{"string", "pattern"}, func(e *env, a []any) any {
		s, ok1 := str(a[0])
		pat, ok2 := str(a[1])
		if !ok1 || !ok2 {
			return nil
		}
		re := compileRegexp(pat, nil, 0)
		if re == nil {
			return nil
		}
		out := []any{}
		for _, m := range re.FindAllString(s, -1) {
			out = append(out, m)
		}
		return out
	})
	join := func(e *env, a []any) any {
		l, ok := a[0].([]any)
		if !ok {
			return nil
		}
		sep, prefix, suffix := "", "", ""
		for i, p := range []*string{&sep, &prefix, &suffix} {
			if len(a) > i+1 && a[i+1] != nil {
				s, ok := str(a[i+1])
				if !ok {
					return nil
				}
				*p = s
			}
		}
		var parts []string
		n := 0
		for _, el := range l {
			switch s := el.(type) {
			case nil:
			case string:
				parts = append(parts, s)
				n += len(s) + len(sep)
			default:
				return nil
			}
		}
		if !concatLimit(e, n) {
			return nil
		}
		return prefix + strings.Join(parts, sep) + suffix
	}
	def("string join", []string{"list"}, join)
	def("string join", []string{"list", "delimiter"}, join)
	def("string join", []string{"list", "delimiter", "prefix", "suffix"}, join)
	def("uuid", nil, func(e *env, a []any) any {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil
		}
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
	})
}

func ifFound(found bool, s string) any {
	if !found {
		return ""
	}
	return s
}

// compileRegexp compiles an XML Schema style pattern with the flags found
// in a[i] (s, m, i, x, q).
func compileRegexp(pat string, a []any, i int) *regexp.Regexp {
	if len(pat) > 1000 {
		return nil
	}
	flags := ""
	if a != nil && len(a) > i && a[i] != nil {
		f, ok := a[i].(string)
		if !ok {
			return nil
		}
		for _, c := range f {
			switch c {
			case 's', 'm', 'i':
				flags += string(c)
			case 'x':
				pat = strings.Map(func(r rune) rune {
					if unicode.IsSpace(r) {
						return -1
					}
					return r
				}, pat)
			case 'q':
				pat = regexp.QuoteMeta(pat)
			default:
				return nil
			}
		}
	}
	if flags != "" {
		pat = "(?" + flags + ")" + pat
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil
	}
	return re
}

// goReplacement turns $1 into ${1} so that "$1x" keeps its meaning.
func goReplacement(r string) string {
	var b strings.Builder
	for i := 0; i < len(r); i++ {
		c := r[i]
		if c == '\\' && i+1 < len(r) {
			if r[i+1] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(r[i+1])
			}
			i++
			continue
		}
		if c == '$' {
			j := i + 1
			for j < len(r) && isDigit(r[j]) {
				j++
			}
			if j > i+1 {
				b.WriteString("${" + r[i+1:j] + "}")
				i = j - 1
				continue
			}
			b.WriteString("$$")
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
