package feel

import (
	"strconv"
	"strings"
)

// Format writes a value as FEEL's string() does: strings unquoted at the
// top level, lists as [1, 2], contexts as {a:1}.
func Format(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var b strings.Builder
	format(&b, v)
	return b.String()
}

func format(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		b.WriteString(strconv.Quote(x))
	case Decimal:
		b.WriteString(x.String())
	case []any:
		b.WriteByte('[')
		for i, el := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			format(b, el)
		}
		b.WriteByte(']')
	case *Context:
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
			b.WriteByte(':')
			format(b, x.vals[k])
		}
		b.WriteByte('}')
	case *Range:
		if x.StartIncl {
			b.WriteByte('[')
		} else {
			b.WriteByte('(')
		}
		if x.HasStart {
			format(b, x.Start)
		}
		b.WriteString("..")
		if x.HasEnd {
			format(b, x.End)
		}
		if x.EndIncl {
			b.WriteByte(']')
		} else {
			b.WriteByte(')')
		}
	case *Function:
		if x.name != "" {
			b.WriteString("function " + x.name)
		} else {
			b.WriteString("function(" + strings.Join(x.params, ", ") + ")")
		}
	case interface{ String() string }:
		b.WriteString(x.String())
	}
}

// ToJSON converts a FEEL value to a value encoding/json writes as in the
// conformance corpus: numbers as JSON numbers, temporal values as
// {"@type": "date", "value": "2019-08-12"}, contexts as objects (keys
// sorted), ranges and functions as their FEEL text.
func ToJSON(v any) any {
	return mapLeaves(toValue(v), func(v any) any {
		switch x := v.(type) {
		case nil, bool, string:
			return v
		case Decimal:
			return x.JSON()
		case Date, Time, DateTime, Duration, YearsMonths:
			return map[string]any{"@type": typeName(v), "value": Format(v)}
		}
		return Format(v)
	})
}

// FromJSON converts a decoded JSON value (numbers as json.Number or
// float64) with typed values encoded as ToJSON writes them into FEEL
// values.
func FromJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if t, ok := x["@type"].(string); ok {
			if s, ok := x["value"].(string); ok && len(x) == 2 {
				return parseTyped(t, s)
			}
		}
		out := make(map[string]any, len(x))
		for k, el := range x {
			out[k] = FromJSON(el)
		}
		return toValue(out)
	case []any:
		out := make([]any, len(x))
		for i, el := range x {
			out[i] = FromJSON(el)
		}
		return out
	}
	return toValue(v)
}

func parseTyped(t, s string) any {
	switch t {
	case "date":
		if d, ok := parseDate(s); ok {
			return d
		}
	case "time":
		if v, ok := parseTime(s); ok {
			return v
		}
	case "date and time":
		if v, ok := parseDateTime(s); ok {
			return v
		}
	case "days and time duration", "years and months duration", "duration":
		if v, ok := parseDuration(s); ok {
			return v
		}
	}
	return nil
}

// Plain converts a FEEL value to the plain JSON values of a workflow
// instance: numbers become float64, dates, times and durations their ISO
// 8601 text ("2024-02-29", "P3D"), contexts map[string]any, lists []any,
// ranges and functions their FEEL text.
func Plain(v any) any {
	return mapLeaves(toValue(v), func(v any) any {
		switch x := v.(type) {
		case nil, bool, string:
			return x
		case Decimal:
			return x.Float64()
		}
		return Format(v)
	})
}

// ParseDate reads a FEEL date ("2024-02-29").
func ParseDate(s string) (Date, bool) { return parseDate(s) }

// ParseDateTime reads a FEEL date and time: local, with an offset
// ("2024-02-29T10:00:00Z") or a zone ("...@Europe/Paris"); a bare date is
// its midnight.
func ParseDateTime(s string) (DateTime, bool) { return parseDateTime(s) }

// ParseDuration reads an ISO 8601 duration: a Duration (days and time) or
// a YearsMonths.
func ParseDuration(s string) (any, bool) { return parseDuration(s) }

// Literal returns the value of an expression that is a literal: a number,
// string, boolean or null, a temporal literal, a date, time, date and time
// or duration constructor with literal arguments, or a list of literals.
// ok is false for anything that reads variables or calls other functions.
func (x *Expr) Literal() (v any, ok bool) {
	if !isLiteral(x.root) {
		return nil, false
	}
	v, err := x.EvalValue(nil)
	return v, err == nil
}

func isLiteral(n node) bool {
	switch x := n.(type) {
	case *lit:
		return true
	case *negNode:
		return isLiteral(x.x)
	case *listNode:
		for _, el := range x.elems {
			if !isLiteral(el) {
				return false
			}
		}
		return true
	case *callNode:
		switch x.name {
		case "date", "time", "date and time", "duration":
		default:
			return false
		}
		for _, a := range x.args {
			if !isLiteral(a) {
				return false
			}
		}
		return true
	}
	return false
}
