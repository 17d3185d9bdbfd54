package feel

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"
)

// builtin is one overload of a built-in function.
type builtin struct {
	params   []string
	variadic bool // the last parameter takes the remaining arguments
	fn       func(e *env, a []any) any
}

func (b *builtin) min() int {
	if b.variadic {
		return len(b.params) - 1
	}
	return len(b.params)
}

// bind orders named arguments by parameter; ok is false when they do not
// fit this overload.
func (b *builtin) bind(args []any, names []string) ([]any, bool) {
	out := make([]any, len(b.params))
	set := make([]bool, len(b.params))
	for i, n := range names {
		j := -1
		for k, p := range b.params {
			if p == n {
				j = k
			}
		}
		if j < 0 {
			return nil, false
		}
		out[j], set[j] = args[i], true
	}
	for k := range set {
		if !set[k] && !(b.variadic && k == len(set)-1) {
			return nil, false
		}
	}
	if b.variadic {
		last := out[len(out)-1]
		if l, ok := last.([]any); ok {
			return append(out[:len(out)-1], l...), true
		}
		if !set[len(set)-1] {
			return out[:len(out)-1], true
		}
	}
	return out, true
}

var builtins = map[string][]*builtin{}

// multiWordNames are the built-in names made of several words; the parser
// reads them as one name even where a word is a keyword ("date and time").
var multiWordNames = map[string]bool{}

func def(name string, params []string, fn func(e *env, a []any) any) {
	builtins[name] = append(builtins[name], &builtin{params: params, fn: fn})
	if strings.Contains(name, " ") {
		multiWordNames[name] = true
	}
}

func defVar(name string, params []string, fn func(e *env, a []any) any) {
	builtins[name] = append(builtins[name], &builtin{params: params, variadic: true, fn: fn})
	if strings.Contains(name, " ") {
		multiWordNames[name] = true
	}
}

func init() {
	for _, n := range []string{"date and time", "years and months duration", "days and time duration",
		"time offset", "start included", "end included", "get or else", "day of week", "day of year",
		"week of year", "month of year", "last day of month", "instance of"} {
		multiWordNames[n] = true
	}
	defConversion()
	defBoolean()
	defString()
	defNumeric()
	defList()
	defContext()
	defRange()
	defTemporal()
	defJSON()
}

// Argument helpers.

func num(v any) (Decimal, bool) { d, ok := v.(Decimal); return d, ok }

func intArg(v any) (int64, bool) {
	d, ok := v.(Decimal)
	if !ok {
		return 0, false
	}
	return d.Int64()
}

func str(v any) (string, bool) { s, ok := v.(string); return s, ok }

func dec(d Decimal, ok bool) any {
	if !ok {
		return nil
	}
	return d
}

// Conversion -------------------------------------------------------------

func defConversion() {
	def("date", []string{"from"}, func(e *env, a []any) any {
		switch x := a[0].(type) {
		case string:
			if d, ok := parseDate(x); ok {
				return d
			}
		case Date:
			return x
		case DateTime:
			return dateOf(x.T)
		}
		return nil
	})
	def("date", []string{"year", "month", "day"}, func(e *env, a []any) any {
		y, ok1 := intArg(a[0])
		m, ok2 := intArg(a[1])
		d, ok3 := intArg(a[2])
		if !ok1 || !ok2 || !ok3 || y > 999999999 || y < -999999999 {
			return nil
		}
		if r, ok := makeDate(int(y), int(m), int(d)); ok {
			return r
		}
		return nil
	})
	def("time", []string{"from"}, func(e *env, a []any) any {
		switch x := a[0].(type) {
		case string:
			if t, ok := parseTime(x); ok {
				return t
			}
		case Time:
			return x
		case DateTime:
			return timeOfDateTime(x)
		case Date:
			return Time{HasOffset: true}
		}
		return nil
	})
	clock := func(a []any) (Time, bool) {
		h, ok1 := intArg(a[0])
		m, ok2 := intArg(a[1])
		s, ok3 := num(a[2])
		if !ok1 || !ok2 || !ok3 || h < 0 || h > 23 || m < 0 || m > 59 || s.Sign() < 0 || s.Cmp(NewDecimal(60)) >= 0 {
			return Time{}, false
		}
		whole, _ := s.RoundScale(0, roundDown)
		sec, _ := whole.Int64()
		frac, _ := s.Sub(whole)
		nsd, _ := frac.Mul(NewDecimal(1e9))
		ns, _ := nsd.RoundScale(0, roundDown)
		n, _ := ns.Int64()
		return Time{Hour: int(h), Minute: int(m), Second: int(sec), Nanosecond: int(n)}, true
	}
	def("time", []string{"hour", "minute", "second"}, func(e *env, a []any) any {
		if t, ok := clock(a); ok {
			return t
		}
		return nil
	})
	def("time", []string{"hour", "minute", "second", "offset"}, func(e *env, a []any) any {
		t, ok := clock(a)
		if !ok {
			return nil
		}
		switch o := a[3].(type) {
		case Duration:
			t.HasOffset, t.Offset = true, int(time.Duration(o)/time.Second)
		case nil:
		default:
			return nil
		}
		return t
	})
	def("date and time", []string{"from"}, func(e *env, a []any) any {
		switch x := a[0].(type) {
		case string:
			if d, ok := parseDateTime(x); ok {
				return d
			}
		case DateTime:
			return x
		case Date:
			return DateTime{T: x.t()}
		}
		return nil
	})
	def("date and time", []string{"date", "time"}, func(e *env, a []any) any {
		var d Date
		switch x := a[0].(type) {
		case Date:
			d = x
		case DateTime:
			d = dateOf(x.T)
		default:
			return nil
		}
		switch t := a[1].(type) {
		case Time:
			r, ok := combine(d, t)
			if ok {
				return r
			}
		case string: // date and time(dateTime, timezone)
			dt, ok := a[0].(DateTime)
			loc, ok2 := loadZone(t)
			if !ok || !ok2 {
				return nil
			}
			if !dt.Zoned {
				return DateTime{T: time.Date(dt.T.Year(), dt.T.Month(), dt.T.Day(), dt.T.Hour(), dt.T.Minute(), dt.T.Second(), dt.T.Nanosecond(), loc), Zoned: true, Zone: zoneName(loc)}
			}
			return DateTime{T: dt.T.In(loc), Zoned: true, Zone: zoneName(loc)}
		}
		return nil
	})
	builtins["date and time"] = append(builtins["date and time"], &builtin{params: []string{"dateTime", "timezone"}, fn: builtins["date and time"][1].fn})
	def("duration", []string{"from"}, func(e *env, a []any) any {
		if s, ok := str(a[0]); ok {
			if d, ok := parseDuration(s); ok {
				return d
			}
		}
		return nil
	})
	def("years and months duration", []string{"from", "to"}, func(e *env, a []any) any {
		from, ok1 := asDateTime(a[0])
		to, ok2 := asDateTime(a[1])
		if !ok1 || !ok2 {
			return nil
		}
		months := int64(to.Year()-from.Year())*12 + int64(to.Month()-from.Month())
		// A partial month does not count.
		if months > 0 && wallLess(to, from) {
			months--
		} else if months < 0 && wallLess(from, to) {
			months++
		}
		return YearsMonths(months)
	})
	def("number", []string{"from"}, func(e *env, a []any) any {
		return parseNumber(a[0], nil, nil)
	})
	def("number", []string{"from", "grouping separator"}, func(e *env, a []any) any {
		return parseNumber(a[0], a[1], nil)
	})
	def("number", []string{"from", "grouping separator", "decimal separator"}, func(e *env, a []any) any {
		return parseNumber(a[0], a[1], a[2])
	})
	def("string", []string{"from"}, func(e *env, a []any) any {
		if a[0] == nil {
			return nil
		}
		return Format(a[0])
	})
	def("context", []string{"entries"}, func(e *env, a []any) any {
		l, ok := a[0].([]any)
		if !ok {
			l = []any{a[0]}
		}
		c := newContext(len(l))
		for _, el := range l {
			entry, ok := el.(*Context)
			if !ok {
				return nil
			}
			k, ok1 := entry.vals["key"].(string)
			v, ok2 := entry.vals["value"]
			if !ok1 || !ok2 {
				return nil
			}
			c.set(k, v)
		}
		return c
	})
}

// wallLess reports whether a's day-and-clock within the month is before b's.
func wallLess(a, b time.Time) bool {
	ad := time.Date(2000, 1, a.Day(), a.Hour(), a.Minute(), a.Second(), a.Nanosecond(), time.UTC)
	bd := time.Date(2000, 1, b.Day(), b.Hour(), b.Minute(), b.Second(), b.Nanosecond(), time.UTC)
	return ad.Before(bd)
}

func asDateTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case Date:
		return x.t(), true
	case DateTime:
		return x.T, true
	}
	return time.Time{}, false
}

func parseNumber(from, group, decimal any) any {
	s, ok := from.(string)
	if !ok {
		return nil
	}
	if group != nil {
		g, ok := group.(string)
		if !ok || (g != " " && g != "," && g != "." && g != "") {
			return nil
		}
		if g != "" {
			s = strings.ReplaceAll(s, g, "")
		}
	}
	if decimal != nil {
		d, ok := decimal.(string)
		if !ok || (d != "," && d != ".") || d == group {
			return nil
		}
		s = strings.Replace(s, d, ".", 1)
	}
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.HasPrefix(s, "+") {
		return nil
	}
	d, ok := ParseDecimal(s)
	if !ok {
		return nil
	}
	return d
}

// Boolean ------------------------------------------------------------------

var errAssert = errors.New("assertion failed")

func defBoolean() {
	def("not", []string{"negand"}, func(e *env, a []any) any {
		if b, ok := a[0].(bool); ok {
			return !b
		}
		return nil
	})
	def("is defined", []string{"value"}, func(e *env, a []any) any { return true })
	def("get or else", []string{"value", "default"}, func(e *env, a []any) any {
		if a[0] == nil {
			return a[1]
		}
		return a[0]
	})
	assert := func(e *env, a []any) any {
		if a[1] == true {
			return a[0]
		}
		msg := "The condition is not fulfilled"
		if len(a) > 2 {
			if s, ok := a[2].(string); ok {
				msg = s
			}
		}
		e.fail(fmt.Errorf("%w: %s", errAssert, msg))
		return nil
	}
	def("assert", []string{"value", "condition"}, assert)
	def("assert", []string{"value", "condition", "cause"}, assert)
}

// Numeric ------------------------------------------------------------------

var roundModes = map[string]roundMode{
	"UP": roundUp, "DOWN": roundDown, "CEILING": roundCeiling, "FLOOR": roundFloor,
	"HALF_UP": halfUp, "HALF_DOWN": halfDown, "HALF_EVEN": halfEven, "UNNECESSARY": halfEven,
}

func defNumeric() {
	def("decimal", []string{"n", "scale"}, func(e *env, a []any) any {
		n, ok1 := num(a[0])
		s, ok2 := intArg(a[1])
		if !ok1 || !ok2 {
			return nil
		}
		return dec(n.RoundScale(int(s), halfEven))
	})
	def("decimal", []string{"n", "scale", "mode"}, func(e *env, a []any) any {
		n, ok1 := num(a[0])
		s, ok2 := intArg(a[1])
		m, ok3 := str(a[2])
		mode, ok4 := roundModes[strings.ToUpper(m)]
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil
		}
		r, ok := n.RoundScale(int(s), mode)
		if !ok {
			return nil
		}
		if strings.ToUpper(m) == "UNNECESSARY" && r.Cmp(n) != 0 {
			return nil
		}
		return r
	})
	roundFn := func(name string, mode roundMode, scaleOptional bool) {
		f := func(e *env, a []any) any {
			n, ok := num(a[0])
			if !ok {
				return nil
			}
			scale := int64(0)
			if len(a) > 1 {
				if scale, ok = intArg(a[1]); !ok {
					return nil
				}
			}
			return dec(n.RoundScale(int(scale), mode))
		}
		if scaleOptional {
			def(name, []string{"n"}, f)
		}
		def(name, []string{"n", "scale"}, f)
	}
	roundFn("floor", roundFloor, true)
	roundFn("ceiling", roundCeiling, true)
	roundFn("round up", roundUp, false)
	roundFn("round down", roundDown, false)
	roundFn("round half up", halfUp, false)
	roundFn("round half down", halfDown, false)
	def("abs", []string{"n"}, func(e *env, a []any) any {
		switch x := a[0].(type) {
		case Decimal:
			return x.Abs()
		case Duration:
			if x < 0 {
				return -x
			}
			return x
		case YearsMonths:
			if x < 0 {
				return -x
			}
			return x
		}
		return nil
	})
	def("modulo", []string{"dividend", "divisor"}, func(e *env, a []any) any {
		x, ok1 := num(a[0])
		y, ok2 := num(a[1])
		if !ok1 || !ok2 || y.Sign() == 0 {
			return nil
		}
		q, ok := x.Quo(y)
		if !ok {
			return nil
		}
		fq, _ := q.RoundScale(0, roundFloor)
		p, _ := y.Mul(fq)
		return dec(x.Sub(p))
	})
	floatFn := func(name string, f func(float64) float64, valid func(Decimal) bool) {
		def(name, []string{"number"}, func(e *env, a []any) any {
			x, ok := num(a[0])
			if !ok || !valid(x) {
				return nil
			}
			return dec(DecimalFromFloat(f(x.Float64())))
		})
	}
	floatFn("sqrt", math.Sqrt, func(d Decimal) bool { return d.Sign() >= 0 })
	floatFn("log", math.Log, func(d Decimal) bool { return d.Sign() > 0 })
	floatFn("exp", math.Exp, func(Decimal) bool { return true })
	parity := func(name string, want uint) {
		def(name, []string{"number"}, func(e *env, a []any) any {
			x, ok := num(a[0])
			if !ok || !x.IsInteger() {
				return nil
			}
			if x.Sign() == 0 {
				return want == 0
			}
			s := x.Strip()
			if s.exp > 0 {
				return want == 0
			}
			return new(big.Int).Abs(s.coef).Bit(0) == want
		})
	}
	alias("abs", []string{"number"})
	parity("odd", 1)
	parity("even", 0)
	def("random number", nil, func(e *env, a []any) any {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil
		}
		n := uint64(0)
		for _, c := range b {
			n = n<<8 | uint64(c)
		}
		return dec(DecimalFromFloat(float64(n>>11) / (1 << 53)))
	})
}
