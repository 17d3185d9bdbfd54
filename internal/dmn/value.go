package dmn

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Values inside the package are: nil, float64, string, bool, time.Time
// (dates and dates-and-times; a date is midnight UTC), duration, and
// whatever else a caller passes (maps, lists), which only compares as
// unequal or fails.

// duration is a FEEL duration: either years and months (months) or days
// and time (nanos), never both.
type duration struct {
	months int64
	nanos  int64
}

func (d duration) String() string {
	if d.months != 0 {
		return fmt.Sprintf("duration(P%dM)", d.months)
	}
	return fmt.Sprintf("duration(%s)", time.Duration(d.nanos))
}

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

// normalize converts a Go value to the package's representation: every
// number becomes float64, time.Duration a duration. Other values are
// returned as they are.
func normalize(v any) any {
	switch x := v.(type) {
	case float64, string, bool, nil, time.Time, duration:
		return v
	case int:
		return float64(x)
	case int8:
		return float64(x)
	case int16:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case uint:
		return float64(x)
	case uint8:
		return float64(x)
	case uint16:
		return float64(x)
	case uint32:
		return float64(x)
	case uint64:
		return float64(x)
	case float32:
		return float64(x)
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return f
		}
		return string(x)
	case time.Duration:
		return duration{nanos: int64(x)}
	case *time.Time:
		if x == nil {
			return nil
		}
		return *x
	}
	return v
}

// convert checks (and where the type says so, converts) an input value
// for column type t. nil is always allowed.
func convert(v any, t typ) (any, error) {
	v = normalize(v)
	if v == nil {
		return nil, nil
	}
	switch t {
	case typeString:
		if _, ok := v.(string); ok {
			return v, nil
		}
	case typeNumber:
		if _, ok := v.(float64); ok {
			return v, nil
		}
	case typeBoolean:
		if _, ok := v.(bool); ok {
			return v, nil
		}
	case typeDate:
		switch x := v.(type) {
		case time.Time:
			return dateOf(x), nil
		case string:
			tm, err := parseDateTime(x)
			if err != nil {
				return nil, fmt.Errorf("value %s is not a date (want YYYY-MM-DD or RFC 3339)", describe(v))
			}
			return dateOf(tm), nil
		}
	case typeDateTime:
		switch x := v.(type) {
		case time.Time:
			return x, nil
		case string:
			tm, err := parseDateTime(x)
			if err != nil {
				return nil, fmt.Errorf("value %s is not a date and time (want RFC 3339)", describe(v))
			}
			return tm, nil
		}
	case typeDuration:
		switch x := v.(type) {
		case duration:
			return x, nil
		case string:
			d, err := parseDuration(x)
			if err != nil {
				return nil, fmt.Errorf("value %s is not an ISO 8601 duration", describe(v))
			}
			return d, nil
		}
	default:
		return v, nil
	}
	return nil, fmt.Errorf("value is %s, want %s", describe(v), t)
}

// dateOf returns the calendar date of t (in t's own location) as midnight
// UTC.
func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// parseDate reads a FEEL date string, YYYY-MM-DD.
func parseDate(s string) (time.Time, error) {
	return time.Parse("2006-01-02", s)
}

// parseDateTime reads a FEEL date and time string: RFC 3339 with or
// without a fractional second, without a zone (read as UTC), or a bare
// date (midnight UTC). Zone ids ("@Europe/Paris") are not supported.
func parseDateTime(s string) (time.Time, error) {
	if strings.Contains(s, "@") {
		return time.Time{}, errors.New("zone ids (@Region/City) are not supported; use an offset such as +01:00")
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date and time (want YYYY-MM-DDThh:mm:ss with an optional offset)", clip(s, 40))
}

// Bounds on durations: nanoseconds must fit an int64 (about 292 years).
const (
	maxDurationSeconds = 9e9
	maxDurationYears   = 1_000_000
)

// parseDuration reads an ISO 8601 duration as FEEL allows it: either
// years and months (P1Y2M) or days and time (P2DT3H4M5.5S, also weeks
// P2W), with an optional leading minus.
func parseDuration(s string) (duration, error) {
	bad := func(why string) (duration, error) {
		return duration{}, fmt.Errorf("%q is not a duration: %s", clip(s, 40), why)
	}
	neg := false
	r := s
	if strings.HasPrefix(r, "-") {
		neg, r = true, r[1:]
	}
	if !strings.HasPrefix(r, "P") {
		return bad("want ISO 8601 such as P1D, PT2H or P1Y2M")
	}
	r = r[1:]
	if r == "" {
		return bad("no components")
	}
	var (
		years, months, weeks, days, hours, mins float64
		secs                                    float64
		fracNanos                               int64
		inTime, some, ym, dt                    bool
		seen                                    = map[string]bool{}
	)
	for r != "" {
		if r[0] == 'T' {
			if inTime {
				return bad("second T")
			}
			inTime = true
			r = r[1:]
			if r == "" {
				return bad("no component after T")
			}
			continue
		}
		i := 0
		for i < len(r) && r[i] >= '0' && r[i] <= '9' {
			i++
		}
		intPart := r[:i]
		frac := ""
		if i < len(r) && r[i] == '.' {
			j := i + 1
			for j < len(r) && r[j] >= '0' && r[j] <= '9' {
				j++
			}
			frac = r[i+1 : j]
			i = j
			if frac == "" {
				return bad("digit expected after the decimal point")
			}
		}
		if intPart == "" || i >= len(r) {
			return bad("number and unit expected")
		}
		if len(intPart) > 15 {
			return bad("number too large")
		}
		n, err := strconv.ParseFloat(intPart, 64)
		if err != nil {
			return bad("bad number")
		}
		unit := r[i : i+1]
		r = r[i+1:]
		key := unit
		if inTime {
			key = "T" + unit
		}
		if seen[key] {
			return bad("unit " + unit + " repeated")
		}
		seen[key] = true
		if frac != "" && key != "TS" {
			return bad("only seconds may have a fraction")
		}
		some = true
		switch key {
		case "Y":
			years, ym = n, true
		case "M":
			months, ym = n, true
		case "W":
			weeks, dt = n, true
		case "D":
			days, dt = n, true
		case "TH":
			hours, dt = n, true
		case "TM":
			mins, dt = n, true
		case "TS":
			secs, dt = n, true
			if len(frac) > 9 {
				frac = frac[:9]
			}
			f, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
			fracNanos = f
		default:
			return bad("unknown unit " + unit)
		}
	}
	if !some {
		return bad("no components")
	}
	if ym && dt {
		return bad("a duration has years and months or days and time, not both")
	}
	var d duration
	if ym {
		if years > maxDurationYears || months > maxDurationYears*12 {
			return bad("too large")
		}
		d.months = int64(years)*12 + int64(months)
	} else {
		total := weeks*7*86400 + days*86400 + hours*3600 + mins*60 + secs
		if total > maxDurationSeconds {
			return bad("too large")
		}
		d.nanos = (int64(weeks)*7*86400+int64(days)*86400+int64(hours)*3600+int64(mins)*60+int64(secs))*int64(time.Second) + fracNanos
	}
	if neg {
		d.months, d.nanos = -d.months, -d.nanos
	}
	return d, nil
}

// errIncomparable reports two values that cannot be compared.
type errIncomparable struct {
	a, b any
	why  string
}

func (e *errIncomparable) Error() string {
	if e.why != "" {
		return e.why
	}
	return fmt.Sprintf("cannot compare %s with %s", describe(e.a), describe(e.b))
}

// coerce makes a string comparable with a date or a duration on the other
// side by parsing it; every other pair is returned unchanged.
func coerce(a, b any) (any, any, error) {
	switch b.(type) {
	case time.Time:
		if s, ok := a.(string); ok {
			t, err := parseDateTime(s)
			if err != nil {
				return a, b, &errIncomparable{a: a, b: b, why: fmt.Sprintf("cannot compare string %q with a date: %v", clip(s, 40), err)}
			}
			return t, b, nil
		}
	case duration:
		if s, ok := a.(string); ok {
			d, err := parseDuration(s)
			if err != nil {
				return a, b, &errIncomparable{a: a, b: b, why: fmt.Sprintf("cannot compare with a duration: %v", err)}
			}
			return d, b, nil
		}
	}
	switch a.(type) {
	case time.Time, duration:
		if _, ok := b.(string); ok {
			b2, a2, err := coerce(b, a)
			return a2, b2, err
		}
	}
	return a, b, nil
}

// equal is FEEL equality for unary tests: nil equals only nil, values of
// different types are an error.
func equal(a, b any) (bool, error) {
	if a == nil || b == nil {
		return a == nil && b == nil, nil
	}
	a, b, err := coerce(a, b)
	if err != nil {
		return false, err
	}
	switch x := a.(type) {
	case float64:
		if y, ok := b.(float64); ok {
			return x == y, nil
		}
	case string:
		if y, ok := b.(string); ok {
			return x == y, nil
		}
	case bool:
		if y, ok := b.(bool); ok {
			return x == y, nil
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Equal(y), nil
		}
	case duration:
		if y, ok := b.(duration); ok {
			return x == y, nil
		}
	}
	return false, &errIncomparable{a: a, b: b}
}

// compare orders a and b: -1, 0 or +1. Both must be non-nil numbers,
// strings, dates or durations of the same kind.
func compare(a, b any) (int, error) {
	a, b, err := coerce(a, b)
	if err != nil {
		return 0, err
	}
	switch x := a.(type) {
	case float64:
		if y, ok := b.(float64); ok {
			switch {
			case x < y:
				return -1, nil
			case x > y:
				return 1, nil
			case x == y:
				return 0, nil
			}
			return 0, &errIncomparable{why: "cannot order NaN"}
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), nil
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Compare(y), nil
		}
	case duration:
		if y, ok := b.(duration); ok {
			switch {
			case (x.nanos == 0 && y.nanos == 0) || (x.months == 0 && y.months == 0):
				return cmpInt(x.months, y.months) + cmpInt(x.nanos, y.nanos), nil
			}
			return 0, &errIncomparable{why: "cannot order a years-and-months duration against a days-and-time duration"}
		}
	case bool:
		if _, ok := b.(bool); ok {
			return 0, &errIncomparable{why: "booleans have no order; use true or false"}
		}
	}
	return 0, &errIncomparable{a: a, b: b}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// describe names a value for messages: `number 5`, `string "abc"`.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("string %q", clip(x, 40))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprintf("number %v", x)
		}
		return "number " + strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case time.Time:
		return "date " + x.Format(time.RFC3339Nano)
	case duration:
		return x.String()
	case map[string]any:
		return "a map"
	case []any:
		return "a list"
	}
	switch reflect.TypeOf(v).Kind() {
	case reflect.Slice, reflect.Array:
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
