package form

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Validate checks a submission against the form and returns every bad
// field, in form order (then keys that are not in the form, sorted); nil
// when the submission is valid. current holds the task's variables: a
// read-only or disabled field may be submitted only with its current value,
// and options given by valuesKey are read from it.
//
// Keys may be dotted paths ("applicant.name"); the submission may give
// them either flat ({"applicant.name": "Ada"}) or nested
// ({"applicant": {"name": "Ada"}}). Checks, per field:
//
//   - type: textfield/textarea text, number a JSON number (or a numeric
//     string with serializeToString), checkbox true/false, checklist and
//     taglist lists, datetime a date (YYYY-MM-DD), time (hh:mm[:ss][Z|±hh:mm])
//     or both joined by T, per subtype; select and radio a single value;
//   - validate.required: missing, null, "", an unchecked checkbox or an
//     empty list fail (never for a field with conditional.hide: it may be
//     hidden, and conditions are not evaluated);
//   - validate.min/max, number decimalDigits and increment;
//   - validate.minLength/maxLength (characters of the trimmed text),
//     validate.pattern (a match anywhere, as JavaScript's RegExp.test),
//     validationType email and phone;
//   - options: select and radio values, and each checklist and taglist
//     item, must be one of values (or of the list in the variable named by
//     valuesKey); options from valuesExpression are not checked;
//   - readonly, disabled: absent, or equal to the current value;
//   - unknown keys are errors.
func (f *Form) Validate(submission, current map[string]any) []FieldError {
	v := &validator{root: current}
	v.scope(f.index().top, submission, current, "")
	return v.errs
}

type validator struct {
	root map[string]any // the task's variables, for valuesKey
	errs []FieldError
}

func (v *validator) fail(fd *field, key, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Key: key, Label: fd.label, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) scope(s *scope, sub, cur map[string]any, prefix string) {
	for _, fd := range s.fields {
		key := prefix + fd.key
		val, present, twice := lookup(sub, fd.segs)
		if twice {
			v.fail(fd, key, "is given twice, as %q and as a nested object", fd.key)
			continue
		}
		c, hasCur, _ := lookup(cur, fd.segs)
		v.field(fd, key, val, present, c, hasCur)
	}
	v.unknown(s.root, sub, prefix)
}

// lookup finds the value at path in m, written flat ("a.b") or nested
// ({"a": {"b": ...}}), or any mix. twice reports that it is written more
// than one way.
func lookup(m map[string]any, path []string) (val any, ok, twice bool) {
	if m == nil {
		return nil, false, false
	}
	for i := len(path); i >= 1; i-- {
		k := strings.Join(path[:i], ".")
		x, found := m[k]
		if !found {
			continue
		}
		var sub any
		var subOK bool
		if i == len(path) {
			sub, subOK = x, true
		} else if inner, isMap := x.(map[string]any); isMap {
			var t bool
			sub, subOK, t = lookup(inner, path[i:])
			twice = twice || t
		}
		if subOK {
			if ok {
				twice = true
				continue
			}
			val, ok = sub, true
		}
	}
	return val, ok, twice
}

// unknown reports the keys of sub that are not fields of the scope.
func (v *validator) unknown(n *node, sub map[string]any, prefix string) {
	keys := make([]string, 0, len(sub))
	for k := range sub {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		at := n
		for part := range strings.SplitSeq(k, ".") {
			if at == nil || at.field != nil {
				at = nil
				break
			}
			at = at.kids[part]
		}
		switch {
		case at == nil:
			v.errs = append(v.errs, FieldError{Key: prefix + k, Message: "is not a field of this form"})
		case at.field != nil:
			// A field: checked in form order.
		default:
			inner, ok := sub[k].(map[string]any)
			if !ok {
				v.errs = append(v.errs, FieldError{Key: prefix + k, Message: "must be an object holding the fields under " + prefix + k + ", not " + kindOf(sub[k])})
				continue
			}
			v.unknown(at, inner, prefix+k+".")
		}
	}
}

func (v *validator) field(fd *field, key string, val any, present bool, cur any, hasCur bool) {
	c := fd.c
	if fd.locked {
		if present && !unchanged(val, cur, hasCur, c.DefaultValue) {
			what := "read-only"
			if c.Disabled.Static() {
				what = "disabled"
			}
			v.fail(fd, key, "is %s and cannot be changed", what)
		}
		return
	}
	required := c.Validate != nil && c.Validate.Required && !fd.hidden
	if !present || val == nil || val == "" {
		if required {
			v.fail(fd, key, "is required")
		}
		return
	}
	if fd.items != nil {
		v.list(fd, key, val, cur)
		return
	}
	switch c.Type {
	case TypeTextfield, TypeTextarea:
		if _, ok := val.(string); !ok {
			v.fail(fd, key, "must be text, not %s", kindOf(val))
			return
		}
	case TypeNumber:
		if !v.number(fd, key, val) {
			return
		}
	case TypeCheckbox:
		b, ok := val.(bool)
		if !ok {
			v.fail(fd, key, "must be true or false, not %s", kindOf(val))
			return
		}
		if !b && required {
			v.fail(fd, key, "is required")
		}
		return
	case TypeSelect, TypeRadio:
		if !isScalar(val) {
			v.fail(fd, key, "must be a single value, not %s", kindOf(val))
			return
		}
		v.option(fd, key, val)
	case TypeChecklist, TypeTaglist:
		items, ok := asList(val)
		if !ok {
			v.fail(fd, key, "must be a list, not %s", kindOf(val))
			return
		}
		if len(items) == 0 {
			if required {
				v.fail(fd, key, "is required")
			}
			return
		}
		opts, known := v.options(fd)
		for i, it := range items {
			switch {
			case !isScalar(it):
				v.fail(fd, key, "item %d must be a single value, not %s", i+1, kindOf(it))
			case known && !hasOption(opts, it):
				v.fail(fd, key, "item %d (%s) is not one of %s", i+1, show(it), showOptions(opts))
			}
		}
		return
	case TypeDatetime:
		s, ok := val.(string)
		if !ok {
			v.fail(fd, key, "must be %s, not %s", dateWant(c.Subtype), kindOf(val))
			return
		}
		if !validDatetime(c.Subtype, s) {
			v.fail(fd, key, "must be %s, not %q", dateWant(c.Subtype), s)
			return
		}
	}
	if s, ok := val.(string); ok {
		v.text(fd, key, s)
	}
}

// number checks a number field's value; false when it is not a number at
// all (no other rule applies then).
func (v *validator) number(fd *field, key string, val any) bool {
	c := fd.c
	var x float64
	var text string
	switch val := val.(type) {
	case string:
		if !c.SerializeToString {
			v.fail(fd, key, "must be a number, not a string")
			return false
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			v.fail(fd, key, "must be a number, not %q", val)
			return false
		}
		x = f
	default:
		f, ok := toFloat(val)
		if !ok {
			v.fail(fd, key, "must be a number, not %s", kindOf(val))
			return false
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			v.fail(fd, key, "is out of range")
			return false
		}
		x = f
	}
	text = strconv.FormatFloat(x, 'f', -1, 64)
	if c.DecimalDigits != nil {
		digits := 0
		if _, frac, ok := strings.Cut(text, "."); ok {
			digits = len(frac)
		}
		switch d := *c.DecimalDigits; {
		case d == 0 && digits > 0:
			v.fail(fd, key, "must be a whole number")
		case digits > d:
			v.fail(fd, key, "must have at most %d decimal digits", d)
		}
	}
	if inc, ok := c.Increment.Float(); ok && inc > 0 && !math.IsInf(inc, 0) {
		r, ok1 := new(big.Rat).SetString(text)
		step, ok2 := new(big.Rat).SetString(strconv.FormatFloat(inc, 'f', -1, 64))
		if ok1 && ok2 {
			q := new(big.Rat).Quo(r, step)
			if !q.IsInt() {
				n := new(big.Int).Quo(q.Num(), q.Denom()) // truncated towards zero
				lo := new(big.Rat).Mul(new(big.Rat).SetInt(n), step)
				if r.Sign() < 0 {
					lo.Sub(lo, step)
				}
				hi := new(big.Rat).Add(lo, step)
				lf, _ := lo.Float64()
				hf, _ := hi.Float64()
				v.fail(fd, key, "must be a multiple of %s; the nearest valid values are %s and %s",
					fmtNum(inc), fmtNum(lf), fmtNum(hf))
			}
		}
	}
	if c.Validate != nil {
		if lo, ok := c.Validate.Min.Float(); ok && x < lo {
			v.fail(fd, key, "must be at least %s", fmtNum(lo))
		}
		if hi, ok := c.Validate.Max.Float(); ok && x > hi {
			v.fail(fd, key, "must be at most %s", fmtNum(hi))
		}
	}
	return true
}

// text applies the rules for text: length, pattern, email and phone.
func (v *validator) text(fd *field, key, s string) {
	rules := fd.c.Validate
	if rules == nil {
		return
	}
	n := float64(utf8.RuneCountInString(strings.TrimSpace(s)))
	if lo, ok := rules.MinLength.Float(); ok && n < lo {
		v.fail(fd, key, "must be at least %s characters long", fmtNum(lo))
	}
	if hi, ok := rules.MaxLength.Float(); ok && n > hi {
		v.fail(fd, key, "must be at most %s characters long", fmtNum(hi))
	}
	switch {
	case fd.reErr != "":
		v.fail(fd, key, "cannot be checked: the form's pattern %q is not supported on the server (%s)", rules.Pattern, fd.reErr)
	case fd.re != nil && !fd.re.MatchString(s):
		v.fail(fd, key, "must match the pattern %s", rules.Pattern)
	}
	switch rules.ValidationType {
	case "email":
		if !emailRE.MatchString(s) {
			v.fail(fd, key, "must be an email address, such as name@example.com")
		}
	case "phone":
		if !validPhone(s) {
			v.fail(fd, key, "must be an international phone number, such as +4930664040900")
		}
	}
}

// list checks a dynamic list: a list of objects, each checked against the
// list's fields.
func (v *validator) list(fd *field, key string, val, cur any) {
	items, ok := asList(val)
	if !ok {
		v.fail(fd, key, "must be a list, not %s", kindOf(val))
		return
	}
	curItems, _ := asList(cur)
	for i, it := range items {
		m, ok := it.(map[string]any)
		itemKey := key + "[" + strconv.Itoa(i) + "]"
		if !ok {
			v.fail(fd, itemKey, "must be an object, not %s", kindOf(it))
			continue
		}
		var curItem map[string]any
		if i < len(curItems) {
			curItem, _ = curItems[i].(map[string]any)
		}
		v.scope(fd.items, m, curItem, itemKey+".")
	}
}

func (v *validator) option(fd *field, key string, val any) {
	opts, known := v.options(fd)
	if known && !hasOption(opts, val) {
		v.fail(fd, key, "must be one of %s, not %s", showOptions(opts), show(val))
	}
}

// options returns the allowed values of a field, and false when they are
// not known on the server: valuesExpression, or a valuesKey variable that
// does not hold a list.
func (v *validator) options(fd *field) ([]any, bool) {
	c := fd.c
	if !optionTypes[c.Type] {
		return nil, false
	}
	if c.Values != nil {
		opts := make([]any, len(c.Values))
		for i, o := range c.Values {
			opts[i] = o.Value
		}
		return opts, true
	}
	if c.ValuesKey == "" {
		return nil, false
	}
	x, ok, _ := lookup(v.root, strings.Split(c.ValuesKey, "."))
	items, isList := asList(x)
	if !ok || !isList {
		return nil, false
	}
	opts := make([]any, 0, len(items))
	for _, it := range items {
		switch it := it.(type) {
		case map[string]any:
			val, ok := it["value"]
			if !ok {
				return nil, false
			}
			opts = append(opts, val)
		default:
			if !isScalar(it) {
				return nil, false
			}
			opts = append(opts, it)
		}
	}
	return opts, true
}

// unchanged reports whether a read-only field's submitted value is its
// current value (or, when it has none, its default or an empty value).
func unchanged(val, cur any, hasCur bool, def any) bool {
	if hasCur {
		return jsonEqual(val, cur)
	}
	switch x := val.(type) {
	case nil, string, bool:
		if x == nil || x == "" || x == false {
			return true
		}
	case []any:
		if len(x) == 0 {
			return true
		}
	}
	return def != nil && jsonEqual(val, def)
}

// jsonEqual compares two JSON values; numbers compare by value, whatever
// their Go type.
func jsonEqual(a, b any) bool {
	a, b = normalize(a), normalize(b)
	if fa, ok := toFloat(a); ok {
		fb, ok := toFloat(b)
		return ok && fa == fb
	}
	switch a := a.(type) {
	case nil:
		return b == nil
	case string:
		s, ok := b.(string)
		return ok && a == s
	case bool:
		x, ok := b.(bool)
		return ok && a == x
	case []any:
		s, ok := b.([]any)
		if !ok || len(a) != len(s) {
			return false
		}
		for i := range a {
			if !jsonEqual(a[i], s[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		m, ok := b.(map[string]any)
		if !ok || len(a) != len(m) {
			return false
		}
		for k, x := range a {
			y, ok := m[k]
			if !ok || !jsonEqual(x, y) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// normalize turns Go values that are not what JSON decoding produces
// ([]string, map[string]string, structs...) into JSON values.
func normalize(v any) any {
	switch v.(type) {
	case nil, string, bool, []any, map[string]any, json.Number,
		float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	x, err := decodeAny(b)
	if err != nil {
		return v
	}
	return x
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case json.Number:
		f, err := strconv.ParseFloat(n.String(), 64)
		if err != nil && !math.IsInf(f, 0) {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

func isScalar(v any) bool {
	switch v.(type) {
	case string, bool:
		return true
	}
	_, ok := toFloat(v)
	return ok
}

// asList returns a list's items, for []any and other Go slices.
func asList(v any) ([]any, bool) {
	if s, ok := v.([]any); ok {
		return s, true
	}
	if v == nil {
		return nil, false
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Slice, reflect.Array:
		s, ok := normalize(v).([]any)
		return s, ok
	}
	return nil, false
}

func hasOption(opts []any, v any) bool {
	for _, o := range opts {
		if jsonEqual(o, v) {
			return true
		}
	}
	return false
}

func show(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	if f, ok := toFloat(v); ok {
		return fmtNum(f)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func showOptions(opts []any) string {
	if len(opts) == 0 {
		return "the options (there are none)"
	}
	parts := make([]string, 0, min(len(opts), 10))
	for i, o := range opts {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("... (%d options)", len(opts)))
			break
		}
		parts = append(parts, show(o))
	}
	return strings.Join(parts, ", ")
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

var (
	dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	timeRE = regexp.MustCompile(`^\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}:\d{2})?$`)
	// emailRE is the WHATWG HTML "valid email address" rule.
	emailRE = regexp.MustCompile(`^[a-zA-Z0-9.!#$%&'*+/=?^_` + "`" + `{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$`)
	phoneRE = regexp.MustCompile(`^(\+|00)[1-9][0-9]{5,19}$`)
)

// validPhone accepts an international number: + or 00, a country code and
// the number, 7 to 21 digits in all; spaces, dots, dashes and brackets
// between digits are ignored.
func validPhone(s string) bool {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/':
			if i == 0 {
				return false
			}
		default:
			b.WriteRune(r)
		}
	}
	return phoneRE.MatchString(b.String())
}

func validDate(s string) bool {
	if !dateRE.MatchString(s) {
		return false
	}
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

func validTime(s string) bool {
	if !timeRE.MatchString(s) {
		return false
	}
	layout := "15:04"
	if len(s) >= 8 && s[5] == ':' {
		layout = "15:04:05"
	}
	if i := strings.IndexAny(s, "Zz+-"); i >= 0 {
		layout += "Z07:00"
		if s[i] == 'z' {
			s = s[:i] + "Z"
		}
	}
	_, err := time.Parse(layout, s)
	return err == nil
}

func validDatetime(subtype, s string) bool {
	switch subtype {
	case SubtypeTime:
		return validTime(s)
	case SubtypeDatetime:
		d, t, ok := strings.Cut(s, "T")
		if !ok {
			d, t, ok = strings.Cut(s, "t")
		}
		return ok && validDate(d) && validTime(t)
	}
	return validDate(s)
}

func dateWant(subtype string) string {
	switch subtype {
	case SubtypeTime:
		return "a time (hh:mm, optionally with seconds and a UTC offset)"
	case SubtypeDatetime:
		return "a date and time (YYYY-MM-DDThh:mm, optionally with seconds and a UTC offset)"
	}
	return "a date (YYYY-MM-DD)"
}
