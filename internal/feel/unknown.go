package feel

import "reflect"

// UnknownFunctions returns the names the expression calls that are
// neither built-in functions nor names the expression itself binds (a
// context entry, a function parameter, an iteration variable), in order
// of first call. Such a call can only succeed when a variable holds a
// function, which JSON variables never do, so a caller may refuse the
// expression at deploy instead of getting null at run time.
func (x *Expr) UnknownFunctions() []string {
	var calls []string
	bound := map[string]bool{}
	strs := func(v reflect.Value) {
		for i := range v.Len() {
			bound[v.Index(i).String()] = true
		}
	}
	// The tree's fields are unexported: read them with reflect's getters,
	// which need no Interface().
	walk(reflect.ValueOf(x.root), func(v reflect.Value) {
		switch v.Type() {
		case reflect.TypeFor[callNode]():
			if name := v.FieldByName("name").String(); name != "" {
				calls = append(calls, name)
			}
		case reflect.TypeFor[contextNode]():
			strs(v.FieldByName("keys"))
		case reflect.TypeFor[funcNode]():
			strs(v.FieldByName("params"))
		case reflect.TypeFor[iterator]():
			bound[v.FieldByName("name").String()] = true
		}
	})
	var out []string
	seen := map[string]bool{}
	for _, name := range calls {
		if _, ok := builtins[name]; ok || bound[name] || seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, name)
	}
	return out
}

// walk calls visit on every struct reachable from v (the syntax tree's
// nodes and their parts).
func walk(v reflect.Value, visit func(reflect.Value)) {
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if !v.IsNil() {
			walk(v.Elem(), visit)
		}
	case reflect.Struct:
		visit(v)
		for i := range v.NumField() {
			walk(v.Field(i), visit)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walk(v.Index(i), visit)
		}
	}
}
