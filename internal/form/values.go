package form

import "strings"

// WithValues returns a copy of the form whose inputs show the current
// values: each input whose key (or path) has a value in vars gets it as
// defaultValue, which every form-js renderer shows. Dynamic lists are not
// filled this way: pass Data(vars) as the renderer's data for them.
func (f *Form) WithValues(vars map[string]any) *Form {
	g := f.clone()
	setDefaults(g.Components, nil, vars)
	idx, _ := build(g)
	g.idx.Store(idx)
	return g
}

func setDefaults(cs []*Component, prefix []string, vars map[string]any) {
	for _, c := range cs {
		switch {
		case c == nil || c.Type == TypeDynamicList:
		case isContainer(c):
			p := prefix
			if validPath(c.Path) {
				p = append(append([]string(nil), prefix...), strings.Split(c.Path, ".")...)
			}
			setDefaults(c.Components, p, vars)
		case isInput(c) && validPath(c.Key):
			path := append(append([]string(nil), prefix...), strings.Split(c.Key, ".")...)
			if v, ok, _ := lookup(vars, path); ok {
				c.DefaultValue = deepCopy(normalize(v))
			}
		}
	}
}

// Data returns the values of the form's fields found in vars, nested by
// key path ({"applicant": {"name": ...}}): the data to render the form
// with, and nothing else of the task's variables.
func (f *Form) Data(vars map[string]any) map[string]any {
	out := map[string]any{}
	for _, fd := range f.index().top.fields {
		if v, ok, _ := lookup(vars, fd.segs); ok {
			setPath(out, fd.segs, deepCopy(normalize(v)))
		}
	}
	return out
}

// Outputs maps a (valid) submission to variables: each submitted field
// that is not read-only or disabled, at its key path, dotted keys becoming
// nested objects ({"applicant.name": "Ada"} → {"applicant": {"name":
// "Ada"}}). Keys that are not in the form are dropped. Apply the result
// with Merge, which keeps the other properties of nested objects.
func (f *Form) Outputs(submission map[string]any) map[string]any {
	out := map[string]any{}
	for _, fd := range f.index().top.fields {
		if fd.locked {
			continue
		}
		if v, ok, _ := lookup(submission, fd.segs); ok {
			setPath(out, fd.segs, deepCopy(v))
		}
	}
	return out
}

// setPath stores v at path in m, creating (or replacing non-object values
// by) nested objects on the way.
func setPath(m map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// Merge returns vars with outputs applied: objects present in both are
// merged key by key (recursively), anything else in outputs replaces the
// value in vars. Neither argument is changed.
func Merge(vars, outputs map[string]any) map[string]any {
	out := make(map[string]any, len(vars)+len(outputs))
	for k, v := range vars {
		out[k] = v
	}
	for k, v := range outputs {
		old, okOld := out[k].(map[string]any)
		nv, okNew := v.(map[string]any)
		if okOld && okNew {
			out[k] = Merge(old, nv)
			continue
		}
		out[k] = v
	}
	return out
}
