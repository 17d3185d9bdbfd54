package form

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
)

// Every schema object keeps the names of its properties in the order they
// were written, and the properties Baton does not interpret as raw JSON, so
// that encoding writes them back in place: a form re-serialises as it was
// (json.MarshalIndent with two spaces reproduces Camunda Modeler's files).

// prop is one interpreted property: its JSON name and a pointer to the
// field holding it.
type prop struct {
	name string
	ptr  any
}

// propError is a problem with one property; field is the path below the
// object being decoded ("min", "values[1].label").
type propError struct {
	field string
	msg   string
}

func (e *propError) Error() string {
	if e.field == "" {
		return e.msg
	}
	return e.field + ": " + e.msg
}

// within prefixes a property error with the property it was found in.
func within(name string, err error) *propError {
	if pe, ok := err.(*propError); ok {
		f := name
		if pe.field != "" {
			if pe.field[0] == '[' {
				f += pe.field
			} else {
				f += "." + pe.field
			}
		}
		return &propError{field: f, msg: pe.msg}
	}
	return &propError{field: name, msg: err.Error()}
}

// object is a JSON object as written: its property names in order and
// each raw value.
type object struct {
	keys []string
	vals map[string]json.RawMessage
}

// decodeObject reads a JSON object keeping the order of its properties.
// A property written twice is an error: which one counts would be a guess.
func decodeObject(data []byte) (object, error) {
	o := object{vals: map[string]json.RawMessage{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return o, &propError{msg: "malformed JSON: " + err.Error()}
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		v, _ := decodeAny(data)
		return o, &propError{msg: "must be an object, not " + kindOf(v)}
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return o, &propError{msg: "malformed JSON: " + err.Error()}
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return o, &propError{field: key, msg: "malformed JSON: " + err.Error()}
		}
		if _, dup := o.vals[key]; dup {
			return o, &propError{field: key, msg: "is written twice"}
		}
		o.keys = append(o.keys, key)
		o.vals[key] = raw
	}
	if _, err := dec.Token(); err != nil {
		return o, &propError{msg: "malformed JSON: " + err.Error()}
	}
	return o, nil
}

// decodeProps fills the interpreted properties from o and returns the
// others as extra. A null value stays in extra, so that it is written back
// as null.
// Properties named in elsewhere are decoded by the caller.
func decodeProps(o object, props []prop, elsewhere ...string) (extra map[string]json.RawMessage, err error) {
	known := make(map[string]bool, len(props))
	for _, p := range props {
		if slices.Contains(elsewhere, p.name) {
			known[p.name] = true
			continue
		}
		known[p.name] = true
		raw, ok := o.vals[p.name]
		if !ok || string(raw) == "null" {
			continue
		}
		if err := decodeValue(raw, p.ptr); err != nil {
			return nil, within(p.name, err)
		}
	}
	for _, k := range o.keys {
		raw := o.vals[k]
		if known[k] && string(raw) != "null" {
			continue
		}
		if extra == nil {
			extra = map[string]json.RawMessage{}
		}
		extra[k] = raw
	}
	return extra, nil
}

// decodeValue decodes one property into the field ptr points to, with a
// message that says what was expected.
func decodeValue(raw json.RawMessage, ptr any) error {
	switch p := ptr.(type) {
	case *string:
		return decodeAs(raw, p, "a string")
	case *bool:
		return decodeAs(raw, p, "true or false")
	case *int:
		return decodeInt(raw, p)
	case **int:
		var n int
		if err := decodeInt(raw, &n); err != nil {
			return err
		}
		*p = &n
	case *any:
		v, err := decodeAny(raw)
		if err != nil {
			return err
		}
		*p = v
	case **Flag:
		var f Flag
		if err := f.UnmarshalJSON(raw); err != nil {
			return err
		}
		*p = &f
	case **Number:
		var n Number
		if err := n.UnmarshalJSON(raw); err != nil {
			return err
		}
		*p = &n
	case **Validate:
		var v Validate
		if err := v.UnmarshalJSON(raw); err != nil {
			return err
		}
		*p = &v
	case **Conditional:
		var c Conditional
		if err := c.UnmarshalJSON(raw); err != nil {
			return err
		}
		*p = &c
	case **Exporter:
		var e Exporter
		if err := e.UnmarshalJSON(raw); err != nil {
			return err
		}
		*p = &e
	case *[]Option:
		var items []json.RawMessage
		if err := decodeAs(raw, &items, "a list of options"); err != nil {
			return err
		}
		opts := make([]Option, len(items))
		for i, item := range items {
			if err := opts[i].UnmarshalJSON(item); err != nil {
				return within("["+strconv.Itoa(i)+"]", err)
			}
		}
		*p = opts
	default:
		panic(fmt.Sprintf("form: no decoder for %T", ptr))
	}
	return nil
}

func decodeAs(raw json.RawMessage, ptr any, want string) error {
	if err := json.Unmarshal(raw, ptr); err != nil {
		v, _ := decodeAny(raw)
		return &propError{msg: "must be " + want + ", not " + kindOf(v)}
	}
	return nil
}

func decodeInt(raw json.RawMessage, p *int) error {
	v, err := decodeAny(raw)
	if err != nil {
		return err
	}
	n, ok := v.(json.Number)
	if !ok {
		return &propError{msg: "must be an integer, not " + kindOf(v)}
	}
	i, err := strconv.ParseInt(n.String(), 10, 32)
	if err != nil {
		return &propError{msg: "must be an integer, not " + n.String()}
	}
	*p = int(i)
	return nil
}

// decodeAny decodes a JSON value keeping numbers as json.Number, so that
// they are written back exactly as they were.
func decodeAny(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &propError{msg: "malformed JSON: " + err.Error()}
	}
	return v, nil
}

// encodeProps writes an object: first the properties in the order they
// were read (interpreted ones from their fields, the others from extra),
// then interpreted properties that are new and not zero, then extra
// properties that are new, sorted.
func encodeProps(props []prop, order []string, extra map[string]json.RawMessage) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	first := true
	put := func(name string, raw []byte) error {
		if !first {
			buf.WriteByte(',')
		}
		first = false
		k, err := marshal(name)
		if err != nil {
			return err
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(raw)
		return nil
	}
	byName := make(map[string]prop, len(props))
	for _, p := range props {
		byName[p.name] = p
	}
	done := make(map[string]bool, len(order))
	for _, name := range order {
		if done[name] {
			continue
		}
		done[name] = true
		p, isProp := byName[name]
		raw, isExtra := extra[name]
		switch {
		case isProp && !(isExtra && isZero(p.ptr)):
			b, err := marshal(reflect.ValueOf(p.ptr).Elem().Interface())
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if err := put(name, b); err != nil {
				return nil, err
			}
		case isExtra:
			if err := put(name, raw); err != nil {
				return nil, err
			}
		}
	}
	for _, p := range props {
		if done[p.name] || isZero(p.ptr) {
			continue
		}
		done[p.name] = true
		b, err := marshal(reflect.ValueOf(p.ptr).Elem().Interface())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		if err := put(p.name, b); err != nil {
			return nil, err
		}
	}
	var rest []string
	for k := range extra {
		if !done[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		if err := put(k, extra[k]); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func isZero(ptr any) bool { return reflect.ValueOf(ptr).Elem().IsZero() }

// marshal encodes v without escaping <, > and & (forms hold HTML and
// Markdown); json.Marshal of a Form still escapes them, an Encoder with
// SetEscapeHTML(false) does not.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func (f *Form) props() []prop {
	return []prop{
		{"type", &f.Type},
		{"id", &f.ID},
		{"components", &f.Components},
		{"schemaVersion", &f.SchemaVersion},
		{"executionPlatform", &f.ExecutionPlatform},
		{"executionPlatformVersion", &f.ExecutionPlatformVersion},
		{"exporter", &f.Exporter},
	}
}

func (c *Component) props() []prop {
	return []prop{
		{"id", &c.ID},
		{"type", &c.Type},
		{"key", &c.Key},
		{"path", &c.Path},
		{"label", &c.Label},
		{"description", &c.Description},
		{"defaultValue", &c.DefaultValue},
		{"readonly", &c.Readonly},
		{"disabled", &c.Disabled},
		{"validate", &c.Validate},
		{"values", &c.Values},
		{"valuesKey", &c.ValuesKey},
		{"valuesExpression", &c.ValuesExpression},
		{"subtype", &c.Subtype},
		{"dateLabel", &c.DateLabel},
		{"timeLabel", &c.TimeLabel},
		{"increment", &c.Increment},
		{"decimalDigits", &c.DecimalDigits},
		{"serializeToString", &c.SerializeToString},
		{"text", &c.Text},
		{"conditional", &c.Conditional},
		{"components", &c.Components},
	}
}

func (v *Validate) props() []prop {
	return []prop{
		{"required", &v.Required},
		{"min", &v.Min},
		{"max", &v.Max},
		{"minLength", &v.MinLength},
		{"maxLength", &v.MaxLength},
		{"pattern", &v.Pattern},
		{"validationType", &v.ValidationType},
	}
}

func (o *Option) props() []prop {
	return []prop{{"label", &o.Label}, {"value", &o.Value}}
}

func (c *Conditional) props() []prop { return []prop{{"hide", &c.Hide}} }

func (e *Exporter) props() []prop {
	return []prop{{"name", &e.Name}, {"version", &e.Version}}
}

// MarshalJSON writes the form with its properties in their original order.
func (f *Form) MarshalJSON() ([]byte, error) {
	return encodeProps(f.props(), f.order, f.Extra)
}

// UnmarshalJSON reads and checks a form as Parse does (limits included).
func (f *Form) UnmarshalJSON(data []byte) error {
	g, err := Parse(data)
	if err != nil {
		return err
	}
	f.Type, f.ID, f.SchemaVersion = g.Type, g.ID, g.SchemaVersion
	f.ExecutionPlatform, f.ExecutionPlatformVersion = g.ExecutionPlatform, g.ExecutionPlatformVersion
	f.Exporter, f.Components, f.Extra, f.order = g.Exporter, g.Components, g.Extra, g.order
	f.idx.Store(g.idx.Load())
	return nil
}

// MarshalJSON writes the component with its properties in their original
// order.
func (c *Component) MarshalJSON() ([]byte, error) {
	return encodeProps(c.props(), c.order, c.Extra)
}

// MarshalJSON writes the rules in their original order.
func (v Validate) MarshalJSON() ([]byte, error) {
	return encodeProps(v.props(), v.order, v.Extra)
}

// UnmarshalJSON reads the rules, keeping their order.
func (v *Validate) UnmarshalJSON(data []byte) error {
	o, err := decodeObject(data)
	if err != nil {
		return err
	}
	v.order = o.keys
	v.Extra, err = decodeProps(o, v.props())
	return err
}

// MarshalJSON writes the option in its original order.
func (o Option) MarshalJSON() ([]byte, error) {
	return encodeProps(o.props(), o.order, o.Extra)
}

// UnmarshalJSON reads the option, keeping its order.
func (o *Option) UnmarshalJSON(data []byte) error {
	obj, err := decodeObject(data)
	if err != nil {
		return err
	}
	o.order = obj.keys
	o.Extra, err = decodeProps(obj, o.props())
	return err
}

// MarshalJSON writes the condition in its original order.
func (c Conditional) MarshalJSON() ([]byte, error) {
	return encodeProps(c.props(), c.order, c.Extra)
}

// UnmarshalJSON reads the condition, keeping its order.
func (c *Conditional) UnmarshalJSON(data []byte) error {
	o, err := decodeObject(data)
	if err != nil {
		return err
	}
	c.order = o.keys
	c.Extra, err = decodeProps(o, c.props())
	return err
}

// MarshalJSON writes the exporter in its original order.
func (e Exporter) MarshalJSON() ([]byte, error) {
	return encodeProps(e.props(), e.order, e.Extra)
}

// UnmarshalJSON reads the exporter, keeping its order.
func (e *Exporter) UnmarshalJSON(data []byte) error {
	o, err := decodeObject(data)
	if err != nil {
		return err
	}
	e.order = o.keys
	e.Extra, err = decodeProps(o, e.props())
	return err
}

// kindOf names the JSON type of a decoded value for messages.
func kindOf(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "true/false"
	case json.Number, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	default:
		rv := reflect.ValueOf(v)
		switch rv.Kind() {
		case reflect.Slice, reflect.Array:
			return "a list"
		case reflect.Map, reflect.Struct:
			return "an object"
		}
		return fmt.Sprintf("a %T", v)
	}
}

// cloneExtra copies a map of raw values (the values are never changed in
// place, so they are shared).
func cloneExtra(m map[string]json.RawMessage) map[string]json.RawMessage {
	if m == nil {
		return nil
	}
	c := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func (c *Component) clone() *Component {
	d := *c
	d.order = slices.Clone(c.order)
	d.Extra = cloneExtra(c.Extra)
	d.DefaultValue = deepCopy(c.DefaultValue)
	if c.Readonly != nil {
		r := *c.Readonly
		d.Readonly = &r
	}
	if c.Disabled != nil {
		r := *c.Disabled
		d.Disabled = &r
	}
	if c.Validate != nil {
		v := *c.Validate
		v.order = slices.Clone(v.order)
		v.Extra = cloneExtra(v.Extra)
		for _, n := range []**Number{&v.Min, &v.Max, &v.MinLength, &v.MaxLength} {
			if *n != nil {
				cp := **n
				*n = &cp
			}
		}
		d.Validate = &v
	}
	if c.Values != nil {
		d.Values = make([]Option, len(c.Values))
		for i, o := range c.Values {
			o.Value = deepCopy(o.Value)
			o.order = slices.Clone(o.order)
			o.Extra = cloneExtra(o.Extra)
			d.Values[i] = o
		}
	}
	if c.Increment != nil {
		n := *c.Increment
		d.Increment = &n
	}
	if c.DecimalDigits != nil {
		n := *c.DecimalDigits
		d.DecimalDigits = &n
	}
	if c.Conditional != nil {
		cd := *c.Conditional
		cd.order = slices.Clone(cd.order)
		cd.Extra = cloneExtra(cd.Extra)
		d.Conditional = &cd
	}
	if c.Components != nil {
		d.Components = make([]*Component, len(c.Components))
		for i, ch := range c.Components {
			d.Components[i] = ch.clone()
		}
	}
	return &d
}

// clone copies the form deeply; the index is rebuilt on first use.
func (f *Form) clone() *Form {
	g := &Form{
		Type: f.Type, ID: f.ID, SchemaVersion: f.SchemaVersion,
		ExecutionPlatform: f.ExecutionPlatform, ExecutionPlatformVersion: f.ExecutionPlatformVersion,
		Extra: cloneExtra(f.Extra), order: slices.Clone(f.order),
	}
	if f.Exporter != nil {
		e := *f.Exporter
		e.order = slices.Clone(e.order)
		e.Extra = cloneExtra(e.Extra)
		g.Exporter = &e
	}
	if f.Components != nil {
		g.Components = make([]*Component, len(f.Components))
		for i, c := range f.Components {
			g.Components[i] = c.clone()
		}
	}
	return g
}

// deepCopy copies a JSON value so that changing the copy leaves the
// original alone.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = deepCopy(x)
		}
		return s
	}
	return v
}
