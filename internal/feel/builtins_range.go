package feel

import "time"

// endpoint is a range bound; inf is -1 or +1 for an unbounded side.
type endpoint struct {
	v   any
	inf int
}

// ranges holds two ranges (points become [p..p]) and whether their bounds
// could be compared.
type rangePair struct {
	a, b *Range
	bad  bool
}

func asRange(v any) (*Range, bool) {
	switch x := v.(type) {
	case *Range:
		return x, true
	case nil, string, bool, []any, *Context, *Function:
		return nil, false
	}
	return &Range{Start: v, End: v, HasStart: true, HasEnd: true, StartIncl: true, EndIncl: true}, true
}

func start(r *Range) endpoint {
	if !r.HasStart {
		return endpoint{inf: -1}
	}
	return endpoint{v: r.Start}
}

func end(r *Range) endpoint {
	if !r.HasEnd {
		return endpoint{inf: 1}
	}
	return endpoint{v: r.End}
}

func (p *rangePair) cmp(x, y endpoint) int {
	if x.inf != 0 || y.inf != 0 {
		return cmpInt(x.inf, y.inf)
	}
	c, ok := compare(x.v, y.v)
	if !ok {
		p.bad = true
	}
	return c
}

func defRange() {
	rf := func(name string, f func(p *rangePair, a, b *Range) bool) {
		def(name, []string{"point1", "point2"}, func(e *env, args []any) any {
			a, ok1 := asRange(args[0])
			b, ok2 := asRange(args[1])
			if !ok1 || !ok2 {
				return nil
			}
			p := &rangePair{a: a, b: b}
			r := f(p, a, b)
			if p.bad {
				return nil
			}
			return r
		})
		// The standard names the parameters by kind; accept the usual ones.
		for _, names := range [][]string{{"range1", "range2"}, {"point", "range"}, {"range", "point"}} {
			builtins[name] = append(builtins[name], &builtin{params: names, fn: builtins[name][0].fn})
		}
	}
	before := func(p *rangePair, a, b *Range) bool {
		c := p.cmp(end(a), start(b))
		return c < 0 || c == 0 && !(a.EndIncl && b.StartIncl)
	}
	rf("before", before)
	rf("after", func(p *rangePair, a, b *Range) bool { return before(p, b, a) })
	meets := func(p *rangePair, a, b *Range) bool {
		return a.EndIncl && b.StartIncl && p.cmp(end(a), start(b)) == 0
	}
	rf("meets", meets)
	rf("met by", func(p *rangePair, a, b *Range) bool { return meets(p, b, a) })
	rf("overlaps", func(p *rangePair, a, b *Range) bool {
		c1 := p.cmp(end(a), start(b))
		c2 := p.cmp(start(a), end(b))
		return (c1 > 0 || c1 == 0 && a.EndIncl && b.StartIncl) && (c2 < 0 || c2 == 0 && a.StartIncl && b.EndIncl)
	})
	overlapsBefore := func(p *rangePair, a, b *Range) bool {
		c1 := p.cmp(start(a), start(b))
		c2 := p.cmp(end(a), start(b))
		c3 := p.cmp(end(a), end(b))
		return (c1 < 0 || c1 == 0 && a.StartIncl && !b.StartIncl) &&
			(c2 > 0 || c2 == 0 && a.EndIncl && b.StartIncl) &&
			(c3 < 0 || c3 == 0 && (!a.EndIncl || b.EndIncl))
	}
	rf("overlaps before", overlapsBefore)
	rf("overlaps after", func(p *rangePair, a, b *Range) bool { return overlapsBefore(p, b, a) })
	finishes := func(p *rangePair, a, b *Range) bool {
		c1 := p.cmp(end(a), end(b))
		c2 := p.cmp(start(a), start(b))
		return a.EndIncl == b.EndIncl && c1 == 0 && (c2 > 0 || c2 == 0 && (!a.StartIncl || b.StartIncl))
	}
	rf("finishes", finishes)
	rf("finished by", func(p *rangePair, a, b *Range) bool { return finishes(p, b, a) })
	includes := func(p *rangePair, a, b *Range) bool {
		c1 := p.cmp(start(a), start(b))
		c2 := p.cmp(end(a), end(b))
		return (c1 < 0 || c1 == 0 && (a.StartIncl || !b.StartIncl)) && (c2 > 0 || c2 == 0 && (a.EndIncl || !b.EndIncl))
	}
	rf("includes", includes)
	rf("during", func(p *rangePair, a, b *Range) bool { return includes(p, b, a) })
	starts := func(p *rangePair, a, b *Range) bool {
		c1 := p.cmp(start(a), start(b))
		c2 := p.cmp(end(a), end(b))
		return c1 == 0 && a.StartIncl == b.StartIncl && (c2 < 0 || c2 == 0 && (!a.EndIncl || b.EndIncl))
	}
	rf("starts", starts)
	rf("started by", func(p *rangePair, a, b *Range) bool { return starts(p, b, a) })
	rf("coincides", func(p *rangePair, a, b *Range) bool {
		return p.cmp(start(a), start(b)) == 0 && p.cmp(end(a), end(b)) == 0 && a.StartIncl == b.StartIncl && a.EndIncl == b.EndIncl
	})
}

// Temporal -----------------------------------------------------------------

func defTemporal() {
	def("now", nil, func(e *env, a []any) any {
		now := e.time()
		return DateTime{T: now, Zoned: true, Zone: zoneName(now.Location())}
	})
	def("today", nil, func(e *env, a []any) any { return dateOf(e.time()) })
	dateFn := func(name string, f func(t time.Time) any) {
		def(name, []string{"date"}, func(e *env, a []any) any {
			t, ok := asDateTime(a[0])
			if !ok {
				return nil
			}
			return f(t)
		})
	}
	dateFn("day of week", func(t time.Time) any { return t.Weekday().String() })
	dateFn("day of year", func(t time.Time) any { return NewDecimal(int64(t.YearDay())) })
	dateFn("week of year", func(t time.Time) any { _, w := t.ISOWeek(); return NewDecimal(int64(w)) })
	dateFn("month of year", func(t time.Time) any { return t.Month().String() })
	dateFn("last day of month", func(t time.Time) any {
		return dateOf(time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, time.UTC))
	})
	def("is", []string{"value1", "value2"}, func(e *env, a []any) any {
		if typeName(a[0]) != typeName(a[1]) {
			return false
		}
		switch x := a[0].(type) {
		case Time:
			y := a[1].(Time)
			return x == y
		case DateTime:
			y := a[1].(DateTime)
			_, xo := x.T.Zone()
			_, yo := y.T.Zone()
			return x.Zoned == y.Zoned && x.Zone == y.Zone && xo == yo && x.T.Equal(y.T)
		}
		eq, ok := equal(a[0], a[1])
		return ok && eq
	})
}
