package feel

import (
	"math"
	"slices"
	"sort"
)

// listArgs reads "f(list)" or "f(a, b, c)" into one list.
func listArgs(a []any) ([]any, bool) {
	if len(a) == 1 {
		if l, ok := a[0].([]any); ok {
			return l, true
		}
	}
	if len(a) == 0 {
		return nil, false
	}
	return a, true
}

func numbers(l []any) ([]Decimal, bool) {
	out := make([]Decimal, len(l))
	for i, v := range l {
		d, ok := v.(Decimal)
		if !ok {
			return nil, false
		}
		out[i] = d
	}
	return out, true
}

func contains(l []any, v any) bool {
	for _, el := range l {
		if eq, ok := equal(el, v); ok && eq {
			return true
		}
	}
	return false
}

// listPosition reads a list and a 1-based position (negative from the
// end) from a[0] and a[1]; the position may be past the end by extra.
func listPosition(a []any, extra int64) ([]any, int64, bool) {
	l, ok1 := a[0].([]any)
	p, ok2 := intArg(a[1])
	if !ok1 || !ok2 || p == 0 {
		return nil, 0, false
	}
	n := int64(len(l))
	if p < 0 {
		p = n + p + 1
	}
	if p < 1 || p > n+extra {
		return nil, 0, false
	}
	return l, p, true
}

func defList() {
	def("list contains", []string{"list", "element"}, func(e *env, a []any) any {
		l, ok := a[0].([]any)
		if !ok {
			return nil
		}
		return contains(l, a[1])
	})
	def("count", []string{"list"}, func(e *env, a []any) any {
		l, ok := a[0].([]any)
		if !ok {
			return nil
		}
		return NewDecimal(int64(len(l)))
	})
	extreme := func(name string, sign int) {
		defVar(name, []string{"list"}, func(e *env, a []any) any {
			l, ok := listArgs(a)
			if !ok || len(l) == 0 {
				return nil
			}
			best := l[0]
			for _, v := range l[1:] {
				c, ok := compare(v, best)
				if !ok {
					return nil
				}
				if c*sign > 0 {
					best = v
				}
			}
			if _, ok := compare(best, best); !ok {
				return nil
			}
			return best
		})
	}
	extreme("min", -1)
	extreme("max", 1)
	agg := func(name string, f func(ds []Decimal) any) {
		defVar(name, []string{"list"}, func(e *env, a []any) any {
			l, ok := listArgs(a)
			if !ok {
				return nil
			}
			ds, ok := numbers(l)
			if !ok {
				return nil
			}
			return f(ds)
		})
	}
	sum := func(ds []Decimal) (Decimal, bool) {
		s := Decimal{}
		ok := true
		for _, d := range ds {
			if s, ok = s.Add(d); !ok {
				return s, false
			}
		}
		return s, true
	}
	agg("sum", func(ds []Decimal) any {
		if len(ds) == 0 {
			return nil
		}
		return dec(sum(ds))
	})
	agg("product", func(ds []Decimal) any {
		if len(ds) == 0 {
			return nil
		}
		p := NewDecimal(1)
		ok := true
		for _, d := range ds {
			if p, ok = p.Mul(d); !ok {
				return nil
			}
		}
		return p
	})
	mean := func(ds []Decimal) (Decimal, bool) {
		s, ok := sum(ds)
		if !ok || len(ds) == 0 {
			return Decimal{}, false
		}
		return s.Quo(NewDecimal(int64(len(ds))))
	}
	agg("mean", func(ds []Decimal) any { return dec(mean(ds)) })
	agg("median", func(ds []Decimal) any {
		if len(ds) == 0 {
			return nil
		}
		s := slices.Clone(ds)
		slices.SortFunc(s, Decimal.Cmp)
		if len(s)%2 == 1 {
			return s[len(s)/2]
		}
		return dec(mean(s[len(s)/2-1 : len(s)/2+1]))
	})
	agg("stddev", func(ds []Decimal) any {
		if len(ds) < 2 {
			return nil
		}
		m, ok := mean(ds)
		if !ok {
			return nil
		}
		sq := Decimal{}
		for _, d := range ds {
			diff, _ := d.Sub(m)
			p, _ := diff.Mul(diff)
			sq, _ = sq.Add(p)
		}
		v, ok := sq.Quo(NewDecimal(int64(len(ds) - 1)))
		if !ok {
			return nil
		}
		return dec(DecimalFromFloat(math.Sqrt(v.Float64())))
	})
	agg("mode", func(ds []Decimal) any {
		s := slices.Clone(ds)
		slices.SortFunc(s, Decimal.Cmp)
		out := []any{}
		best := 0
		for i := 0; i < len(s); {
			j := i
			for j < len(s) && s[j].Cmp(s[i]) == 0 {
				j++
			}
			switch n := j - i; {
			case n > best:
				best = n
				out = []any{s[i]}
			case n == best:
				out = append(out, s[i])
			}
			i = j
		}
		return out
	})
	all := func(e *env, a []any) any {
		l, ok := listArgs(a)
		if !ok {
			if len(a) == 0 {
				return nil
			}
		}
		var res any = true
		for _, v := range l {
			switch v {
			case false:
				return false
			case true:
			default:
				res = nil
			}
		}
		return res
	}
	any_ := func(e *env, a []any) any {
		l, ok := listArgs(a)
		if !ok {
			return nil
		}
		var res any = false
		for _, v := range l {
			switch v {
			case true:
				return true
			case false:
			default:
				res = nil
			}
		}
		return res
	}
	defVar("all", []string{"list"}, all)
	defVar("and", []string{"list"}, all)
	defVar("any", []string{"list"}, any_)
	defVar("or", []string{"list"}, any_)
	sublist := func(e *env, a []any) any {
		l, start, ok := listPosition(a, 0)
		if !ok {
			return nil
		}
		n := int64(len(l))
		end := n
		if len(a) > 2 {
			ln, ok := intArg(a[2])
			if !ok || ln < 0 || start-1+ln > n {
				return nil
			}
			end = start - 1 + ln
		}
		return slices.Clone(l[start-1 : end])
	}
	def("sublist", []string{"list", "start position"}, sublist)
	def("sublist", []string{"list", "start position", "length"}, sublist)
	defVar("append", []string{"list", "items"}, func(e *env, a []any) any {
		l, ok := a[0].([]any)
		if !ok || !e.step(len(l)+len(a)) {
			return nil
		}
		return append(slices.Clone(l), a[1:]...)
	})
	defVar("concatenate", []string{"lists"}, func(e *env, a []any) any {
		out := []any{}
		for _, x := range a {
			l, ok := x.([]any)
			if !ok {
				return nil
			}
			if !e.step(len(l)) || len(out)+len(l) > maxList {
				return nil
			}
			out = append(out, l...)
		}
		return out
	})
	def("insert before", []string{"list", "position", "newItem"}, func(e *env, a []any) any {
		l, p, ok := listPosition(a, 1)
		if !ok {
			return nil
		}
		return slices.Insert(slices.Clone(l), int(p-1), a[2])
	})
	def("remove", []string{"list", "position"}, func(e *env, a []any) any {
		l, p, ok := listPosition(a, 0)
		if !ok {
			return nil
		}
		return slices.Delete(slices.Clone(l), int(p-1), int(p))
	})
	def("reverse", []string{"list"}, func(e *env, a []any) any {
		l, ok := a[0].([]any)
		if !ok {
			return nil
		}
		r := slices.Clone(l)
		slices.Reverse(r)
		return r
	})
	def("index of", []string{"list", "match"}, func(e *env, a []any) any {
		l, ok := a[0].([]any)
		if !ok {
			return nil
		}
		out := []any{}
		for i, v := range l {
			if eq, ok := equal(v, a[1]); ok && eq {
				out = append(out, NewDecimal(int64(i+1)))
			}
		}
		return out
	})
	union := func(e *env, a []any) any {
		out := []any{}
		for _, x := range a {
			l, ok := x.([]any)
			if !ok {
				return nil
			}
			if !e.step(len(l) * (len(out) + 1)) {
				return nil
			}
			for _, v := range l {
				if !contains(out, v) {
					out = append(out, v)
				}
			}
		}
		return out
	}
	defVar("union", []string{"lists"}, union)
	def("distinct values", []string{"list"}, union)
	def("duplicate values", []string{"list"}, func(e *env, a []any) any {
		l, ok := a[0].([]any)
		if !ok || !e.step(len(l)*len(l)/2+1) {
			return nil
		}
		out := []any{}
		for i, v := range l {
			if contains(l[i+1:], v) && !contains(out, v) {
				out = append(out, v)
			}
		}
		return out
	})
	def("flatten", []string{"list"}, func(e *env, a []any) any {
		l, ok := a[0].([]any)
		if !ok {
			return nil
		}
		out := []any{}
		var rec func(l []any, d int) bool
		rec = func(l []any, d int) bool {
			if d > maxCallDep || !e.step(len(l)) {
				return false
			}
			for _, v := range l {
				if sub, ok := v.([]any); ok {
					if !rec(sub, d+1) {
						return false
					}
				} else {
					out = append(out, v)
				}
			}
			return true
		}
		if !rec(l, 0) {
			return nil
		}
		return out
	})
	sortFn := func(e *env, a []any) any {
		l, ok := a[0].([]any)
		if !ok {
			return nil
		}
		s := slices.Clone(l)
		if len(a) < 2 || a[1] == nil {
			bad := false
			sort.SliceStable(s, func(i, j int) bool {
				c, ok := compare(s[i], s[j])
				bad = bad || !ok
				return c < 0
			})
			if bad && len(s) > 1 {
				return nil
			}
			return s
		}
		f, ok := a[1].(*Function)
		if !ok {
			return nil
		}
		bad := false
		sort.SliceStable(s, func(i, j int) bool {
			if bad {
				return false
			}
			r := e.call(f, []any{s[i], s[j]}, nil)
			b, ok := r.(bool)
			bad = !ok || e.err != nil
			return b
		})
		if bad {
			return nil
		}
		return s
	}
	def("sort", []string{"list"}, sortFn)
	def("sort", []string{"list", "precedes"}, sortFn)
	def("is empty", []string{"list"}, func(e *env, a []any) any {
		l, ok := a[0].([]any)
		if !ok {
			return nil
		}
		return len(l) == 0
	})
	def("partition", []string{"list", "size"}, func(e *env, a []any) any {
		l, ok1 := a[0].([]any)
		n, ok2 := intArg(a[1])
		if !ok1 || !ok2 || n <= 0 {
			return nil
		}
		out := []any{}
		for i := 0; i < len(l); i += int(n) {
			end := min(i+int(n), len(l))
			out = append(out, slices.Clone(l[i:end]))
		}
		return out
	})
}

// Context ------------------------------------------------------------------

func keyPath(v any) ([]string, bool) {
	switch k := v.(type) {
	case string:
		return []string{k}, true
	case []any:
		out := make([]string, len(k))
		for i, x := range k {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out[i] = s
		}
		return out, len(out) > 0
	}
	return nil, false
}

func defContext() {
	def("get value", []string{"m", "key"}, func(e *env, a []any) any {
		path, ok := keyPath(a[1])
		if !ok {
			return nil
		}
		var v any = a[0]
		for _, k := range path {
			c, ok := v.(*Context)
			if !ok {
				return nil
			}
			v = c.vals[k]
		}
		return v
	})
	builtins["get value"] = append(builtins["get value"], &builtin{params: []string{"context", "keys"}, fn: builtins["get value"][0].fn})
	def("get entries", []string{"m"}, func(e *env, a []any) any {
		c, ok := a[0].(*Context)
		if !ok {
			return nil
		}
		out := make([]any, 0, len(c.keys))
		for _, k := range c.keys {
			entry := newContext(2)
			entry.set("key", k)
			entry.set("value", c.vals[k])
			out = append(out, entry)
		}
		return out
	})
	builtins["get entries"] = append(builtins["get entries"], &builtin{params: []string{"context"}, fn: builtins["get entries"][0].fn})
	put := func(e *env, a []any) any {
		c, ok := a[0].(*Context)
		path, ok2 := keyPath(a[1])
		if !ok || !ok2 {
			return nil
		}
		return putPath(c, path, a[2])
	}
	def("context put", []string{"context", "key", "value"}, put)
	def("context put", []string{"context", "keys", "value"}, put)
	def("put", []string{"context", "key", "value"}, put)
	def("put", []string{"context", "keys", "value"}, put)
	merge := func(e *env, a []any) any {
		l, ok := listArgs(a)
		if !ok {
			return nil
		}
		out := newContext(0)
		for _, x := range l {
			c, ok := x.(*Context)
			if !ok {
				return nil
			}
			for _, k := range c.keys {
				out.set(k, c.vals[k])
			}
		}
		return out
	}
	defVar("context merge", []string{"contexts"}, merge)
	defVar("merge", []string{"contexts"}, merge)
	defVar("put all", []string{"contexts"}, merge)
	alias("get value", []string{"context", "key"})
}

// alias adds an overload of name with other parameter names.
func alias(name string, params []string) {
	for _, b := range builtins[name] {
		if len(b.params) == len(params) {
			builtins[name] = append(builtins[name], &builtin{params: params, variadic: b.variadic, fn: b.fn})
			return
		}
	}
}

func putPath(c *Context, path []string, v any) any {
	n := c.clone()
	if len(path) == 1 {
		n.set(path[0], v)
		return n
	}
	inner, ok := c.vals[path[0]].(*Context)
	if !ok {
		inner = newContext(1)
	}
	r := putPath(inner, path[1:], v)
	if r == nil {
		return nil
	}
	n.set(path[0], r)
	return n
}
