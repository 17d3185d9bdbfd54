package feel

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// FEEL values inside the evaluator are:
//
//	nil, bool, string, Decimal, []any, *Context, Date, Time, DateTime,
//	Duration, YearsMonths, *Range, *Function
//
// Values from callers are converted on the way in (toValue) and back on the
// way out (ValueToGo).

// Context is an ordered FEEL context. It is immutable once built.
type Context struct {
	keys []string
	vals map[string]any
}

func newContext(n int) *Context {
	return &Context{keys: make([]string, 0, n), vals: make(map[string]any, n)}
}

// set adds or replaces an entry; only for contexts under construction.
func (c *Context) set(k string, v any) {
	if _, ok := c.vals[k]; !ok {
		c.keys = append(c.keys, k)
	}
	c.vals[k] = v
}

// Get returns the value of key k.
func (c *Context) Get(k string) (any, bool) {
	v, ok := c.vals[k]
	return v, ok
}

// Keys returns the keys in order.
func (c *Context) Keys() []string { return slices.Clone(c.keys) }

// Len returns the number of entries.
func (c *Context) Len() int { return len(c.keys) }

func (c *Context) clone() *Context {
	n := newContext(len(c.keys) + 1)
	for _, k := range c.keys {
		n.set(k, c.vals[k])
	}
	return n
}

// Range is a FEEL range. A missing bound (Start or End nil with HasStart or
// HasEnd false) is unbounded, as in the range "< 10".
type Range struct {
	Start, End         any
	HasStart, HasEnd   bool
	StartIncl, EndIncl bool
}

// Function is a FEEL function value: user-defined or built-in.
type Function struct {
	params  []string
	body    node
	closure *scope
	bi      []*builtin // overloads of a built-in
	name    string
}

// toValue converts a caller's Go value into a FEEL value.
func toValue(v any) any {
	switch x := v.(type) {
	case nil, bool, string, Decimal, *Context, Date, Time, DateTime, Duration, YearsMonths, *Range, *Function:
		return v
	case int:
		return NewDecimal(int64(x))
	case int8:
		return NewDecimal(int64(x))
	case int16:
		return NewDecimal(int64(x))
	case int32:
		return NewDecimal(int64(x))
	case int64:
		return NewDecimal(x)
	case uint:
		return decimalFromUint(uint64(x))
	case uint8:
		return NewDecimal(int64(x))
	case uint16:
		return NewDecimal(int64(x))
	case uint32:
		return NewDecimal(int64(x))
	case uint64:
		return decimalFromUint(x)
	case float32:
		d, ok := DecimalFromFloat(float64(x))
		if !ok {
			return nil
		}
		return d
	case float64:
		d, ok := DecimalFromFloat(x)
		if !ok {
			return nil
		}
		return d
	case json.Number:
		d, ok := ParseDecimal(string(x))
		if !ok {
			return nil
		}
		return d
	case *Decimal:
		if x == nil {
			return nil
		}
		return *x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toValue(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		c := newContext(len(keys))
		for _, k := range keys {
			c.set(k, toValue(x[k]))
		}
		return c
	case time.Time:
		return DateTime{T: x, Zoned: true, Zone: zoneName(x.Location())}
	case time.Duration:
		return Duration(x)
	}
	return nil
}

func zoneName(l *time.Location) string {
	if n := l.String(); n != "" && n != "Local" && !strings.HasPrefix(n, "UTC") {
		if _, err := time.LoadLocation(n); err == nil {
			return n
		}
	}
	return ""
}

func decimalFromUint(u uint64) any {
	if u <= math.MaxInt64 {
		return NewDecimal(int64(u))
	}
	d, _ := ParseDecimal(fmt.Sprint(u))
	return d
}

// ValueToGo converts a FEEL value to plain Go: contexts become
// map[string]any, lists []any; numbers stay Decimal and temporal values
// their typed structs.
func ValueToGo(v any) any { return mapLeaves(v, func(v any) any { return v }) }

// mapLeaves rebuilds lists and contexts (as map[string]any) with leaf
// applied to every other value.
func mapLeaves(v any, leaf func(any) any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = mapLeaves(e, leaf)
		}
		return out
	case *Context:
		out := make(map[string]any, len(x.keys))
		for _, k := range x.keys {
			out[k] = mapLeaves(x.vals[k], leaf)
		}
		return out
	}
	return leaf(v)
}

// typeName returns the FEEL type name of a value.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "Null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case Decimal:
		return "number"
	case []any:
		return "list"
	case *Context:
		return "context"
	case Date:
		return "date"
	case Time:
		return "time"
	case DateTime:
		return "date and time"
	case Duration:
		return "days and time duration"
	case YearsMonths:
		return "years and months duration"
	case *Range:
		return "range"
	case *Function:
		return "function"
	}
	return fmt.Sprintf("%T", v)
}

// equal is FEEL's "=": null equals only null; values of different types
// are not comparable (null result, reported as ok=false).
func equal(a, b any) (eq bool, ok bool) {
	if a == nil || b == nil {
		return a == nil && b == nil, true
	}
	switch x := a.(type) {
	case bool:
		y, ok := b.(bool)
		return x == y, ok
	case string:
		y, ok := b.(string)
		return x == y, ok
	case Decimal:
		y, ok := b.(Decimal)
		return ok && x.Cmp(y) == 0, ok
	case []any:
		y, ok := b.([]any)
		if !ok {
			return false, false
		}
		if len(x) != len(y) {
			return false, true
		}
		for i := range x {
			if e, ok := equal(x[i], y[i]); !ok || !e {
				return false, true
			}
		}
		return true, true
	case *Context:
		y, ok := b.(*Context)
		if !ok {
			return false, false
		}
		if len(x.keys) != len(y.keys) {
			return false, true
		}
		for _, k := range x.keys {
			yv, found := y.vals[k]
			if !found {
				return false, true
			}
			if e, ok := equal(x.vals[k], yv); !ok || !e {
				return false, true
			}
		}
		return true, true
	case Date, Time, DateTime, Duration, YearsMonths:
		if typeName(a) != typeName(b) {
			return false, false
		}
		c, ok := compareTemporal(a, b, true)
		return ok && c == 0, ok
	case *Range:
		y, ok := b.(*Range)
		if !ok {
			return false, false
		}
		if x.HasStart != y.HasStart || x.HasEnd != y.HasEnd || x.StartIncl != y.StartIncl || x.EndIncl != y.EndIncl {
			return false, true
		}
		if x.HasStart {
			if e, ok := equal(x.Start, y.Start); !ok || !e {
				return false, ok
			}
		}
		if x.HasEnd {
			if e, ok := equal(x.End, y.End); !ok || !e {
				return false, ok
			}
		}
		return true, true
	case *Function:
		y, ok := b.(*Function)
		return x == y, ok
	}
	return false, false
}

// compare orders two values of the same orderable type.
func compare(a, b any) (int, bool) {
	switch x := a.(type) {
	case Decimal:
		y, ok := b.(Decimal)
		if !ok {
			return 0, false
		}
		return x.Cmp(y), true
	case string:
		y, ok := b.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(x, y), true
	case Date, Time, DateTime, Duration, YearsMonths:
		if typeName(a) != typeName(b) {
			return 0, false
		}
		return compareTemporal(a, b, false)
	}
	return 0, false
}

// inRange reports whether v lies in r; ok is false when not comparable.
func inRange(v any, r *Range) (bool, bool) {
	if r.HasStart {
		c, ok := compare(v, r.Start)
		if !ok {
			return false, false
		}
		if c < 0 || c == 0 && !r.StartIncl {
			return false, true
		}
	}
	if r.HasEnd {
		c, ok := compare(v, r.End)
		if !ok {
			return false, false
		}
		if c > 0 || c == 0 && !r.EndIncl {
			return false, true
		}
	}
	return true, true
}
