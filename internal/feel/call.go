package feel

import "fmt"

func (n *funcNode) evalIn(e *env, s *scope) any {
	return &Function{params: n.params, body: n.body, closure: s}
}

func (n *callNode) evalIn(e *env, s *scope) any {
	var f *Function
	if n.name != "" {
		if v, ok := e.lookup(s, n.name); ok {
			f, _ = v.(*Function)
		} else if bs, ok := builtins[n.name]; ok {
			f = &Function{bi: bs, name: n.name}
		}
	} else {
		f, _ = ev(e, s, n.fn).(*Function)
	}
	if f == nil {
		return nil
	}
	if n.name == "is defined" && f.bi != nil && len(n.args) == 1 {
		return e.defined(s, n.args[0])
	}
	args := make([]any, len(n.args))
	for i, a := range n.args {
		args[i] = ev(e, s, a)
	}
	if e.err != nil {
		return nil
	}
	return e.call(f, args, n.names)
}

// defined is "is defined(x)": a missing variable or context entry is
// not defined; one holding null is.
func (e *env) defined(s *scope, n node) any {
	switch x := n.(type) {
	case *nameNode:
		if _, ok := e.lookup(s, x.name); ok {
			return true
		}
		_, ok := builtins[x.name]
		return ok
	case *pathNode:
		base := ev(e, s, x.x)
		if c, ok := base.(*Context); ok {
			_, found := c.Get(x.name)
			return found
		}
		if base == nil {
			return false
		}
		_, ok := temporalProperty(base, x.name)
		return ok
	}
	return ev(e, s, n) != nil
}

// call invokes a function with positional (names nil) or named arguments.
func (e *env) call(f *Function, args []any, names []string) any {
	if !e.step(1) {
		return nil
	}
	e.depth++
	defer func() { e.depth-- }()
	if e.depth > maxCallDep {
		e.fail(fmt.Errorf("%w: more than %d nested calls", ErrLimit, maxCallDep))
		return nil
	}
	if f.bi != nil {
		return e.callBuiltin(f, args, names)
	}
	sc := f.closure
	if names != nil {
		for i, name := range names {
			found := false
			for _, p := range f.params {
				found = found || p == name
			}
			if !found {
				return nil
			}
			sc = &scope{parent: sc, name: name, val: args[i]}
		}
		for _, p := range f.params {
			found := false
			for _, name := range names {
				found = found || p == name
			}
			if !found {
				sc = &scope{parent: sc, name: p}
			}
		}
	} else {
		if len(args) != len(f.params) {
			return nil
		}
		for i, p := range f.params {
			sc = &scope{parent: sc, name: p, val: args[i]}
		}
	}
	return ev(e, sc, f.body)
}

func (e *env) callBuiltin(f *Function, args []any, names []string) any {
	// Built-ins work through their arguments: a call over a long string or
	// list costs in proportion, so that a loop of them stays bounded.
	work := 0
	for _, a := range args {
		switch x := a.(type) {
		case string:
			work += len(x)
		case []any:
			work += len(x)
		}
	}
	if !e.step(work / 64) {
		return nil
	}
	for _, b := range f.bi {
		var a []any
		if names == nil {
			if len(args) < b.min() || !b.variadic && len(args) > len(b.params) {
				continue
			}
			a = args
		} else {
			var ok bool
			if a, ok = b.bind(args, names); !ok {
				continue
			}
		}
		return b.fn(e, a)
	}
	return nil
}

// concatLimit checks the size of a string about to be built.
func concatLimit(e *env, n int) bool {
	if !e.step(n / 64) { // strings built count against the step budget
		return false
	}
	if n > maxString {
		e.fail(fmt.Errorf("%w: a string of more than %d bytes", ErrLimit, maxString))
		return false
	}
	return true
}
