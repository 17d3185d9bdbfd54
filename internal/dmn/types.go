package dmn

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/batonhq/baton/internal/feel"
)

// maxEntryLen bounds the text of one entry or expression.
const maxEntryLen = 64 << 10

// errTooLong is the problem of an entry past maxEntryLen.
var errTooLong = fmt.Errorf("entry is longer than %d KiB", maxEntryLen>>10)

// typ is the typeRef of an input or output column.
type typ int

const (
	typeAny typ = iota
	typeString
	typeNumber
	typeBoolean
	typeDate
	typeDateTime
	typeDuration
)

// parseType reads a typeRef. Names follow Camunda 7 (integer, long,
// double), Camunda 8 / FEEL (number, dateTime, dayTimeDuration...) and the
// FEEL spelling with spaces ("date and time"). Case is ignored; an empty
// typeRef is "Any".
func parseType(s string) (typ, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "any", "time":
		return typeAny, true
	case "string":
		return typeString, true
	case "number", "integer", "int", "long", "double", "float", "decimal":
		return typeNumber, true
	case "boolean", "bool":
		return typeBoolean, true
	case "date":
		return typeDate, true
	case "datetime", "date and time":
		return typeDateTime, true
	case "duration", "daytimeduration", "yearmonthduration", "days and time duration", "years and months duration":
		return typeDuration, true
	}
	return typeAny, false
}

func (t typ) String() string {
	switch t {
	case typeString:
		return "string"
	case typeNumber:
		return "number"
	case typeBoolean:
		return "boolean"
	case typeDate:
		return "date"
	case typeDateTime:
		return "dateTime"
	case typeDuration:
		return "duration"
	}
	return "Any"
}

// convert checks an input value (the result of the input expression)
// against the column's type and, for temporal columns, reads strings and
// time.Time values as FEEL dates, dates and times and durations, since
// instance variables hold them as JSON strings. nil always passes.
func convert(v any, t typ) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t {
	case typeString:
		if _, ok := v.(string); ok {
			return v, nil
		}
	case typeNumber:
		if _, ok := v.(feel.Decimal); ok {
			return v, nil
		}
	case typeBoolean:
		if _, ok := v.(bool); ok {
			return v, nil
		}
	case typeDate:
		switch x := v.(type) {
		case feel.Date:
			return x, nil
		case feel.DateTime:
			return feel.Date{Year: x.T.Year(), Month: x.T.Month(), Day: x.T.Day()}, nil
		case string:
			if d, ok := feel.ParseDate(x); ok {
				return d, nil
			}
			if dt, ok := feel.ParseDateTime(x); ok {
				return feel.Date{Year: dt.T.Year(), Month: dt.T.Month(), Day: dt.T.Day()}, nil
			}
			return nil, fmt.Errorf("value %s is not a date (want YYYY-MM-DD)", describe(v))
		}
	case typeDateTime:
		switch x := v.(type) {
		case feel.DateTime:
			return x, nil
		case feel.Date:
			return feel.DateTime{T: time.Date(x.Year, x.Month, x.Day, 0, 0, 0, 0, time.UTC)}, nil
		case string:
			if dt, ok := feel.ParseDateTime(x); ok {
				return dt, nil
			}
			return nil, fmt.Errorf("value %s is not a date and time (want YYYY-MM-DDThh:mm:ss with an optional offset or @zone)", describe(v))
		}
	case typeDuration:
		switch x := v.(type) {
		case feel.Duration, feel.YearsMonths:
			return x, nil
		case string:
			if d, ok := feel.ParseDuration(x); ok {
				return d, nil
			}
			return nil, fmt.Errorf("value %s is not an ISO 8601 duration", describe(v))
		}
	default:
		return v, nil
	}
	return nil, fmt.Errorf("value is %s, want %s", describe(v), t)
}

// plainNumber reads an output value as a float64, the number type of
// instance variables.
func plainNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// describe names a value for messages: `number 5`, `string "abc"`.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("string %q", clip(x, 40))
	case float64:
		return "number " + strconv.FormatFloat(x, 'g', -1, 64)
	case feel.Decimal:
		return "number " + x.String()
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case feel.Date:
		return "date " + x.String()
	case feel.DateTime:
		return "date and time " + x.String()
	case feel.Duration, feel.YearsMonths:
		return "duration " + feel.Format(x)
	case map[string]any:
		return "a context"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("a %T", v)
}

// clip shortens s to at most n bytes for messages, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
