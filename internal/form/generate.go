package form

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
)

// GenerateInput describes a user task that has no form.
type GenerateInput struct {
	// ID becomes the form's id ("generated" when empty).
	ID string
	// Inputs are the variables the task shows: read-only unless they are
	// also outputs. Outputs are the variables it sets: editable. Names may
	// be dotted paths into objects ("applicant.email"); an output inside a
	// shown object makes that one field editable. Without outputs nobody
	// said what the task sets, so every field shown is editable.
	Inputs  []string
	Outputs []string
	// Variables are the current values; their types choose the fields.
	Variables map[string]any
	// Options declares enumerations: variable name (or path) → allowed
	// values. Such a variable gets a select, or a checklist when it holds
	// a list.
	Options map[string][]Option
}

// Generate builds a form for a user task from its declared inputs and
// outputs and the current variables' types:
//
//	string             textfield; textarea when it has a line break;
//	                   datetime when it is an RFC 3339 date or date-time
//	number             number (decimalDigits 0 for Go integers)
//	bool               checkbox
//	list of values     taglist offering the current items
//	list of objects    dynamiclist of the objects' fields
//	object             group of fields, one per key (sorted)
//	declared options   select (checklist for a list)
//	no value           textfield
//
// Fields come in declared order (inputs, then outputs not among them);
// nested keys are sorted. With no inputs and no outputs every variable is
// shown, sorted by name. With outputs, only they (and fields inside them)
// are editable; without outputs every field is, so that a person can
// always give the task its result. An opening text component says which
// the form did. Names a form cannot hold (not letters, digits, _ and -) and
// values with no field type are listed in a closing text component
// instead.
func Generate(in GenerateInput) *Form {
	g := &generator{in: in, ids: map[string]bool{}, outputs: map[string]bool{}, open: len(in.Outputs) == 0}
	for _, o := range in.Outputs {
		g.outputs[o] = true
	}
	names := slices.Concat(in.Inputs, in.Outputs)
	if len(names) == 0 {
		for k := range in.Variables {
			names = append(names, k)
		}
		sort.Strings(names)
	}
	f := &Form{Type: "default", ID: in.ID, SchemaVersion: SchemaVersion, Exporter: &Exporter{Name: "Baton"}}
	if f.ID == "" {
		f.ID = "generated"
	}
	f.Components = []*Component{{ID: g.id("Text_generated"), Type: TypeText, Text: generatedNote(in, len(names) > 0)}}
	for _, name := range topNames(names) {
		if !validPath(name) {
			g.note(name, "not a name a form can hold")
			continue
		}
		v, has, _ := lookup(in.Variables, strings.Split(name, "."))
		if c := g.component(name, name, v, has, 1); c != nil {
			f.Components = append(f.Components, c)
		}
	}
	if len(g.notes) > 0 {
		f.Components = append(f.Components, &Component{
			ID: g.id("Text_not_shown"), Type: TypeText,
			Text: "Not shown here:\n\n" + strings.Join(g.notes, "\n"),
		})
	}
	idx, _ := build(f)
	f.idx.Store(idx)
	return f
}

// topNames keeps each name that is not inside another one ("applicant"
// covers "applicant.email"), placed where it or a name inside it first
// appears.
func topNames(names []string) []string {
	var out []string
	for _, n := range names {
		top := n
		for _, m := range names {
			if strings.HasPrefix(top, m+".") {
				top = m
			}
		}
		if !slices.Contains(out, top) {
			out = append(out, top)
		}
	}
	return out
}

type generator struct {
	in      GenerateInput
	outputs map[string]bool
	open    bool // no outputs declared: every field is editable
	ids     map[string]bool
	notes   []string
}

// generatedNote says what a generated form was made from.
func generatedNote(in GenerateInput, fields bool) string {
	quoted := func(names []string) string {
		q := make([]string, len(names))
		for i, n := range names {
			q[i] = "`" + strings.ReplaceAll(n, "`", "'") + "`"
		}
		return strings.Join(q, ", ")
	}
	switch {
	case len(in.Outputs) > 0 && len(in.Inputs) > 0:
		return "This task has no form: Baton generated one from the task's outputs (" + quoted(in.Outputs) +
			"), which you can fill in, and shows its inputs read-only."
	case len(in.Outputs) > 0:
		return "This task has no form: Baton generated one from the task's outputs (" + quoted(in.Outputs) + ")."
	case !fields:
		return "This task has no form, declares no outputs and has no variables to show: complete it when it is done."
	case len(in.Inputs) > 0:
		return "This task has no form and declares no outputs: Baton generated one from its inputs (" + quoted(in.Inputs) +
			"). Change what the task should set; what you submit is saved as variables."
	}
	return "This task has no form and declares no outputs: Baton generated one from the instance's variables. " +
		"Change what the task should set; what you submit is saved as variables."
}

// editable reports whether a variable path is an output or inside one
// (any path when no outputs are declared).
func (g *generator) editable(path string) bool {
	if g.open {
		return true
	}
	for p := path; ; {
		if g.outputs[p] {
			return true
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			return false
		}
		p = p[:i]
	}
}

func (g *generator) note(path, why string) {
	g.notes = append(g.notes, fmt.Sprintf("- `%s`: %s", strings.ReplaceAll(path, "`", "'"), why))
}

// id makes a unique component id from a path.
func (g *generator) id(base string) string {
	var b strings.Builder
	for _, r := range base {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	id := b.String()
	for i := 2; g.ids[id]; i++ {
		id = fmt.Sprintf("%s_%d", b.String(), i)
	}
	g.ids[id] = true
	return id
}

// component makes the field for one variable: key is its key relative to
// its container, path its full path (for options, outputs and ids).
func (g *generator) component(key, path string, v any, has bool, depth int) *Component {
	last := key[strings.LastIndexByte(key, '.')+1:]
	c := &Component{ID: g.id("Field_" + path), Key: key, Label: humanize(last)}
	if !g.editable(path) {
		c.Readonly = &Flag{Value: true}
	}
	v = normalize(v)
	if opts, ok := g.in.Options[path]; ok {
		c.Type = TypeSelect
		if _, isList := v.([]any); isList {
			c.Type = TypeChecklist
		}
		c.Values = cloneOptions(opts)
		return c
	}
	switch x := v.(type) {
	case nil:
		c.Type = TypeTextfield
	case string:
		switch {
		case validDate(x):
			c.Type, c.Subtype, c.DateLabel, c.Label = TypeDatetime, SubtypeDate, c.Label, ""
		case isDateTime(x):
			c.Type, c.Subtype, c.DateLabel, c.TimeLabel, c.Label = TypeDatetime, SubtypeDatetime, c.Label, "Time", ""
		case strings.ContainsAny(x, "\n\r"):
			c.Type = TypeTextarea
		default:
			c.Type = TypeTextfield
		}
	case bool:
		c.Type = TypeCheckbox
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		c.Type = TypeNumber
		zero := 0
		c.DecimalDigits = &zero
	case float64, float32, json.Number:
		c.Type = TypeNumber
	case []any:
		return g.list(c, key, path, x, depth)
	case map[string]any:
		return g.group(c, key, path, x, depth)
	default:
		g.note(path, fmt.Sprintf("a %T has no form field", v))
		return nil
	}
	return c
}

// list makes a taglist for a list of values, a dynamiclist for a list of
// objects.
func (g *generator) list(c *Component, key, path string, items []any, depth int) *Component {
	scalars, objects := 0, 0
	for _, it := range items {
		switch {
		case isScalar(it):
			scalars++
		case isObject(it):
			objects++
		}
	}
	switch {
	case objects == 0 && scalars == len(items):
		c.Type = TypeTaglist
		var seen []any
		for _, it := range items {
			if !hasOption(seen, it) {
				seen = append(seen, it)
				c.Values = append(c.Values, Option{Label: fmt.Sprint(it), Value: it})
			}
		}
		return c
	case objects == len(items) && depth < MaxDepth:
		fields := map[string]any{}
		for _, it := range items {
			for k, x := range it.(map[string]any) {
				if fields[k] == nil {
					fields[k] = x
				}
			}
		}
		readonly := c.Readonly.Static()
		list := &Component{ID: c.ID, Type: TypeDynamicList, Path: key, Label: c.Label,
			Components: []*Component{},
			Extra: map[string]json.RawMessage{
				"isRepeating":    json.RawMessage("true"),
				"allowAddRemove": json.RawMessage(fmt.Sprint(!readonly)),
			}}
		for _, k := range sortedKeys(fields) {
			if !validPath(k) || strings.Contains(k, ".") {
				g.note(path+"[]."+k, "not a name a form can hold")
				continue
			}
			ch := g.component(k, path+"."+k, fields[k], true, depth+1)
			if ch == nil {
				continue
			}
			if readonly {
				lockAll(ch)
			}
			list.Components = append(list.Components, ch)
		}
		return list
	}
	g.note(path, "a list mixing values and objects, or nested lists")
	return nil
}

// group makes a group with one field per key, sorted.
func (g *generator) group(c *Component, key, path string, m map[string]any, depth int) *Component {
	if len(m) == 0 {
		g.note(path, "an empty object")
		return nil
	}
	if depth >= MaxDepth {
		g.note(path, "nested too deeply")
		return nil
	}
	grp := &Component{ID: c.ID, Type: TypeGroup, Path: key, Label: c.Label, Components: []*Component{}}
	for _, k := range sortedKeys(m) {
		if !validPath(k) || strings.Contains(k, ".") {
			g.note(path+"."+k, "not a name a form can hold")
			continue
		}
		if ch := g.component(k, path+"."+k, m[k], true, depth+1); ch != nil {
			grp.Components = append(grp.Components, ch)
		}
	}
	if len(grp.Components) == 0 {
		return nil
	}
	return grp
}

// lockAll makes a component and everything in it read-only.
func lockAll(c *Component) {
	if isInput(c) {
		c.Readonly = &Flag{Value: true}
	}
	for _, ch := range c.Components {
		lockAll(ch)
	}
}

func isObject(v any) bool {
	_, ok := v.(map[string]any)
	return ok
}

func isDateTime(s string) bool {
	if len(s) < len("2006-01-02T15:04:05Z") {
		return false
	}
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func cloneOptions(opts []Option) []Option {
	out := make([]Option, len(opts))
	for i, o := range opts {
		o.Value = deepCopy(o.Value)
		o.Extra = cloneExtra(o.Extra)
		o.order = slices.Clone(o.order)
		out[i] = o
	}
	return out
}

// humanize makes a label from a key: "loanAmount" and "loan_amount"
// become "Loan amount", "orderID" becomes "Order ID".
func humanize(key string) string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = cur[:0]
		}
	}
	rs := []rune(key)
	for i, r := range rs {
		switch {
		case r == '_' || r == '-' || r == ' ':
			flush()
			continue
		case unicode.IsUpper(r) && i > 0:
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	for i, w := range words {
		if isAcronym(w) {
			continue
		}
		w = strings.ToLower(w)
		if i == 0 {
			r := []rune(w)
			r[0] = unicode.ToUpper(r[0])
			w = string(r)
		}
		words[i] = w
	}
	return strings.Join(words, " ")
}

func isAcronym(w string) bool {
	n := 0
	for _, r := range w {
		if !unicode.IsUpper(r) && !unicode.IsDigit(r) {
			return false
		}
		if unicode.IsUpper(r) {
			n++
		}
	}
	return n > 1
}
