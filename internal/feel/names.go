package feel

import "slices"

// Names returns the variables the expression reads from the caller's
// variables, in order of first use: names that no for, some, every,
// function parameter, filter or context entry binds (a name called as a
// function counts unless it is a built-in). Names only tested for presence (inside is defined
// and get or else) are left out, so that a caller can insist on the rest
// being defined.
func (x *Expr) Names() []string {
	var out []string
	collectNames(x.root, nil, &out)
	return out
}

func collectNames(n node, bound []string, out *[]string) {
	add := func(name string) {
		if !slices.Contains(bound, name) && !slices.Contains(*out, name) {
			*out = append(*out, name)
		}
	}
	walk := func(ns ...node) {
		for _, c := range ns {
			if c != nil {
				collectNames(c, bound, out)
			}
		}
	}
	switch x := n.(type) {
	case *nameNode:
		add(x.name)
	case *negNode:
		walk(x.x)
	case *arithNode:
		walk(x.l, x.r)
	case *cmpNode:
		walk(x.l, x.r)
	case *andNode:
		walk(x.l, x.r)
	case *orNode:
		walk(x.l, x.r)
	case *betweenNode:
		walk(x.x, x.lo, x.hi)
	case *inNode:
		walk(x.x)
		for _, t := range x.tests {
			walk(t.x)
		}
	case *instanceNode:
		walk(x.x)
	case *ifNode:
		walk(x.c, x.a, x.b)
	case *forNode:
		b := slices.Clone(bound)
		for _, it := range x.its {
			collectNames(it.domain, b, out)
			if it.to != nil {
				collectNames(it.to, b, out)
			}
			b = append(b, it.name)
		}
		collectNames(x.body, append(b, "partial"), out)
	case *quantNode:
		b := slices.Clone(bound)
		for _, it := range x.its {
			collectNames(it.domain, b, out)
			b = append(b, it.name)
		}
		collectNames(x.cond, b, out)
	case *filterNode:
		walk(x.x) // the condition reads the elements
	case *pathNode:
		walk(x.x)
	case *callNode:
		if x.name == "is defined" || x.name == "get or else" {
			return
		}
		if x.name == "" {
			walk(x.fn)
		} else if _, ok := builtins[x.name]; !ok {
			add(x.name)
		}
		walk(x.args...)
	case *listNode:
		walk(x.elems...)
	case *contextNode:
		b := slices.Clone(bound)
		for i, k := range x.keys {
			collectNames(x.vals[i], b, out)
			b = append(b, k)
		}
	case *rangeNode:
		walk(x.start, x.end)
	case *unaryRangeNode:
		walk(x.x)
	case *funcNode:
		collectNames(x.body, append(slices.Clone(bound), x.params...), out)
	}
}
