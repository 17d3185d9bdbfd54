package form_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/form"
)

// encode writes a form as Camunda Modeler does: two-space indent, no HTML
// escaping.
func encode(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatalf("encode: %v", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func decodeJSON(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return v
}

// TestRoundTrip re-serialises a form written as Camunda Modeler writes
// them (exporter, schemaVersion, ids, layout rows, every component type)
// byte for byte, and as equal JSON through json.Marshal.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/loan-application.form")
	if err != nil {
		t.Fatal(err)
	}
	f, err := form.Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := encode(t, f); !bytes.Equal(got, bytes.TrimSpace(data)) {
		t.Errorf("re-serialised form differs from the original:\n%s", got)
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if got, want := decodeJSON(t, b), decodeJSON(t, data); !reflect.DeepEqual(got, want) {
		t.Errorf("json.Marshal changed the form:\n got %s", b)
	}

	// What Baton interprets is read.
	if f.ID != "loan-application" || f.SchemaVersion != 16 || f.Exporter.Name != "Camunda Modeler" ||
		f.Exporter.Version != "5.24.0" || f.ExecutionPlatform != "Camunda Cloud" {
		t.Errorf("form header = %q %d %+v %q", f.ID, f.SchemaVersion, f.Exporter, f.ExecutionPlatform)
	}
	group := f.Components[1]
	if group.Type != form.TypeGroup || group.Path != "applicant" || len(group.Components) != 3 {
		t.Fatalf("components[1] = %+v", group)
	}
	if string(group.Extra["showOutline"]) != "true" || !strings.Contains(string(group.Extra["layout"]), "Row_1qg3t5c") {
		t.Errorf("group extra = %s", group.Extra)
	}
	amount := f.Components[2]
	if max, ok := amount.Validate.Max.Float(); !ok || max != 1e6 || amount.Validate.Max.Lit != "1e6" {
		t.Errorf("amount validate.max = %+v", amount.Validate.Max)
	}
	if inc, ok := amount.Increment.Float(); !ok || inc != 0.01 || !amount.Increment.Quoted {
		t.Errorf("amount increment = %+v", amount.Increment)
	}
	if amount.DecimalDigits == nil || *amount.DecimalDigits != 2 {
		t.Errorf("amount decimalDigits = %v", amount.DecimalDigits)
	}
	risk := f.Components[11]
	if risk.Disabled == nil || risk.Disabled.Expr == "" || risk.Disabled.Static() {
		t.Errorf("riskApproved disabled = %+v", risk.Disabled)
	}
	if len(f.Warnings()) != 0 {
		t.Errorf("Warnings() = %v", f.Warnings())
	}
}

// TestRoundTripChanged: properties that are set after parsing are written
// after the original ones, and a copy from WithValues keeps the rest.
func TestRoundTripChanged(t *testing.T) {
	t.Parallel()
	f := mustParse(t, `{"type": "default", "components": [{"zzz": 1, "type": "textfield", "key": "a", "aaa": null}], "x-custom": {"b": 1}}`)
	g := f.WithValues(m{"a": "hello"})
	got := string(mustMarshal(t, g))
	want := `{"type":"default","components":[{"zzz":1,"type":"textfield","key":"a","aaa":null,"defaultValue":"hello"}],"x-custom":{"b":1}}`
	if got != want {
		t.Errorf("Marshal(WithValues) =\n %s\nwant\n %s", got, want)
	}
	if got := string(mustMarshal(t, f)); strings.Contains(got, "hello") {
		t.Errorf("WithValues changed the original: %s", got)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	return b
}

// TestRoundTripExamples: the forms of the example workflows parse and
// re-serialise as equal JSON.
func TestRoundTripExamples(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"loan-approval.json", "order-fulfilment.json", "document-review.json"} {
		data, err := os.ReadFile("../../examples/" + file)
		if err != nil {
			t.Skipf("examples not available: %v", err)
		}
		var def struct {
			Nodes []struct {
				ID   string          `json:"id"`
				Form json.RawMessage `json:"form"`
			} `json:"nodes"`
		}
		if err := json.Unmarshal(data, &def); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, n := range def.Nodes {
			if n.Form == nil {
				continue
			}
			f, err := form.Parse(n.Form)
			if err != nil {
				t.Errorf("%s %s: Parse: %v", file, n.ID, err)
				continue
			}
			if got, want := decodeJSON(t, mustMarshal(t, f)), decodeJSON(t, n.Form); !reflect.DeepEqual(got, want) {
				t.Errorf("%s %s: round trip = %v, want %v", file, n.ID, got, want)
			}
		}
	}
}

// TestParseErrors: every problem is reported, located by component and
// property.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string // Problem.String() of each problem
	}{
		{"empty", ``, []string{"the form is empty"}},
		{"malformed", "{\"type\": \"default\",\n  \"components\": [}", []string{
			"malformed JSON at line 2, column 18: invalid character '}' looking for beginning of value"}},
		{"trailing data", `{"type": "default"} {}`, []string{
			"malformed JSON at line 1, column 21: invalid character '{' after top-level value"}},
		{"not an object", `[1]`, []string{"must be an object, not a list"}},
		{"wrong form type", `{"type": "wizard"}`, []string{`type: must be "default", not "wizard"`}},
		{"schemaVersion", `{"schemaVersion": "16"}`, []string{"schemaVersion: must be an integer, not a string"}},
		{"components not a list", `{"components": {}}`, []string{"components: must be a list of components, not an object"}},
		{"component not an object", `{"components": [1]}`, []string{"components[0]: must be an object, not a number"}},
		{"property twice", `{"components": [{"type": "textfield", "key": "a", "key": "b"}]}`, []string{
			"components[0] (key \"a\") key: is written twice"}},
		{"no type", `{"components": [{"key": "a"}]}`, []string{`components[0] (key "a") type: is missing`}},
		{"no key", `{"components": [{"type": "number"}]}`, []string{"components[0] key: is missing: a number needs a key, the variable it binds"}},
		{"bad key", `{"components": [{"type": "textfield", "key": "first name"}]}`, []string{
			`components[0] (key "first name") key: "first name" is not a key: use letters, digits, _ and -, with dots between the parts of a path`}},
		{"bad key dots", `{"components": [{"type": "textfield", "key": "a..b"}]}`, []string{
			`components[0] (key "a..b") key: "a..b" is not a key: use letters, digits, _ and -, with dots between the parts of a path`}},
		{"key type", `{"components": [{"type": "textfield", "key": 5}]}`, []string{"components[0] key: must be a string, not a number"}},
		{"label type", `{"components": [{"type": "textfield", "key": "a", "label": true}]}`, []string{`components[0] (key "a") label: must be a string, not true/false`}},
		{"bad path", `{"components": [{"type": "group", "path": "a b", "components": []}]}`, []string{
			`components[0] (key "a b") path: "a b" is not a path: use letters, digits, _ and -, with dots between the parts`}},
		{"dynamiclist without path", `{"components": [{"type": "dynamiclist", "components": []}]}`, []string{
			"components[0] path: is missing: a dynamiclist needs a path, the variable holding its list"}},
		{"readonly type", `{"components": [{"type": "textfield", "key": "a", "readonly": 1}]}`, []string{
			`components[0] (key "a") readonly: must be true, false or an expression, not a number`}},
		{"validate type", `{"components": [{"type": "textfield", "key": "a", "validate": []}]}`, []string{
			`components[0] (key "a") validate: must be an object, not a list`}},
		{"required type", `{"components": [{"type": "textfield", "key": "a", "validate": {"required": "yes"}}]}`, []string{
			`components[0] (key "a") validate.required: must be true or false, not a string`}},
		{"min type", `{"components": [{"type": "number", "key": "a", "validate": {"min": "ten"}}]}`, []string{
			`components[0] (key "a") validate.min: must be a number or an expression ("=..."), not "ten"`}},
		{"min out of range", `{"components": [{"type": "number", "key": "a", "validate": {"min": 1e400}}]}`, []string{
			`components[0] (key "a") validate.min: is out of range: 1e400`}},
		{"min above max", `{"components": [{"type": "number", "key": "a", "validate": {"min": 5, "max": 1}}]}`, []string{
			`components[0] (key "a") validate.min: 5 is more than validate.max 1: no value can pass`}},
		{"minLength above maxLength", `{"components": [{"type": "textfield", "key": "a", "validate": {"minLength": 5, "maxLength": 1}}]}`, []string{
			`components[0] (key "a") validate.minLength: 5 is more than validate.maxLength 1: no value can pass`}},
		{"maxLength fraction", `{"components": [{"type": "textfield", "key": "a", "validate": {"maxLength": 1.5}}]}`, []string{
			`components[0] (key "a") validate.maxLength: must be a whole number, 0 or more, not 1.5`}},
		{"validationType", `{"components": [{"type": "textfield", "key": "a", "validate": {"validationType": "iban"}}]}`, []string{
			`components[0] (key "a") validate.validationType: must be email, phone or custom, not "iban"`}},
		{"values type", `{"components": [{"type": "select", "key": "a", "values": [{"label": "A", "value": "a"}, "b"]}]}`, []string{
			`components[0] (key "a") values[1]: must be an object, not a string`}},
		{"values label type", `{"components": [{"type": "select", "key": "a", "values": [{"label": 1, "value": "a"}]}]}`, []string{
			`components[0] (key "a") values[0].label: must be a string, not a number`}},
		{"subtype", `{"components": [{"type": "datetime", "key": "a", "subtype": "week"}]}`, []string{
			`components[0] (key "a") subtype: must be date, time or datetime, not "week"`}},
		{"decimalDigits", `{"components": [{"type": "number", "key": "a", "decimalDigits": -1}]}`, []string{
			`components[0] (key "a") decimalDigits: must be 0 or more, not -1`}},
		{"decimalDigits fraction", `{"components": [{"type": "number", "key": "a", "decimalDigits": 1.5}]}`, []string{
			`components[0] (key "a") decimalDigits: must be an integer, not 1.5`}},
		{"increment", `{"components": [{"type": "number", "key": "a", "increment": 0}]}`, []string{
			`components[0] (key "a") increment: must be more than 0, not 0`}},
		{"duplicate key", `{"components": [{"type": "textfield", "key": "a"}, {"type": "group", "components": [{"type": "number", "key": "a"}]}]}`, []string{
			`components[1].components[0] (key "a") key: "a" is also the key of components[0]`}},
		{"key inside key", `{"components": [{"type": "textfield", "key": "a"}, {"type": "textfield", "key": "a.b"}]}`, []string{
			`components[1] (key "a.b") key: "a.b" is inside "a", the key of components[0]`}},
		{"key above key", `{"components": [{"type": "group", "path": "a", "components": [{"type": "textfield", "key": "b"}]}, {"type": "textfield", "key": "a"}]}`, []string{
			`components[1] (key "a") key: "a" is also the start of the key "a.b"`}},
		{"many problems, all located", `{"components": [
			{"type": "textfield"},
			{"type": "group", "components": [{"type": "datetime", "key": "d", "subtype": "x"}, {"key": "e"}]}]}`, []string{
			"components[0] key: is missing: a textfield needs a key, the variable it binds",
			`components[1].components[0] (key "d") subtype: must be date, time or datetime, not "x"`,
			`components[1].components[1] (key "e") type: is missing`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := form.Parse([]byte(tt.src))
			if err == nil {
				t.Fatalf("Parse(%s) = %v, want an error", tt.src, f)
			}
			var se *form.SchemaError
			if !errors.As(err, &se) || !errors.Is(err, form.ErrInvalid) {
				t.Fatalf("Parse error %T %v is not a *SchemaError wrapping ErrInvalid", err, err)
			}
			var got []string
			for _, p := range se.Problems {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Parse(%s) problems =\n  %s\nwant\n  %s", tt.src, strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

func TestProblemLocation(t *testing.T) {
	t.Parallel()
	_, err := form.Parse([]byte(`{"components": [{"type": "group", "components": [{"type": "number", "key": "n", "validate": {"min": true}}]}]}`))
	var se *form.SchemaError
	if !errors.As(err, &se) || len(se.Problems) != 1 {
		t.Fatalf("Parse = %v", err)
	}
	p := se.Problems[0]
	if p.Component != "components[0].components[0]" || p.Key != "n" || p.Property != "validate.min" ||
		p.Location() != "components[0].components[0].validate.min" {
		t.Errorf("problem = %+v, location %q", p, p.Location())
	}
	if want := `invalid form: components[0].components[0] (key "n") validate.min: must be a number, not true/false`; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

// TestParseLimits: absurd input is refused before it costs much.
func TestParseLimits(t *testing.T) {
	t.Parallel()
	nest := func(levels int) string {
		s := `{"type": "textfield", "key": "a"}`
		for range levels {
			s = `{"type": "group", "components": [` + s + `]}`
		}
		return `{"components": [` + s + `]}`
	}
	many := func(n int) string {
		var b strings.Builder
		b.WriteString(`{"components": [`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"type": "textfield", "key": "k%d"}`, i)
		}
		b.WriteString(`]}`)
		return b.String()
	}
	tests := []struct {
		name string
		src  string
		want string // "" when the form is accepted
	}{
		{"deep but fine", nest(form.MaxDepth - 1), ""},
		{"too deep", nest(form.MaxDepth), "components nest more than 16 deep"},
		{"deep JSON", `{"x": ` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, "the form nests objects and lists 101 deep, more than the limit of 64"},
		{"many components", many(form.MaxComponents), ""},
		{"too many components", many(form.MaxComponents + 1), "the form has more than 2000 components"},
		{"too large", `{"x": "` + strings.Repeat("a", form.MaxSize) + `"}`, "more than the limit of 2097152"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := form.Parse([]byte(tt.src))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Parse = %v, want success", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Parse = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	f := mustParse(t, `
		{"type": "textfield", "key": "a", "validate": {"pattern": "^(?!x)"}},
		{"type": "number", "key": "n", "validate": {"max": "=limit"}},
		{"type": "textfield", "key": "b", "validate": {"pattern": "`+strings.Repeat("[a-z]{1000}", 10)+`"}}`)
	var got []string
	for _, w := range f.Warnings() {
		got = append(got, w.String())
	}
	want := []string{
		`components[0] (key "a") validate.pattern: the pattern cannot be checked on the server (invalid or unsupported Perl syntax: (?!); values for this field are refused until it is changed`,
		`components[1] (key "n") validate.max: the expression "=limit" is not evaluated on the server; the rule is not checked`,
		`components[2] (key "b") validate.pattern: the pattern cannot be checked on the server (too complex: it expands to more than 10000 steps); values for this field are refused until it is changed`,
	}
	if errs := f.Validate(m{"b": "abc"}, nil); len(errs) != 1 || !strings.Contains(errs[0].Message, "too complex") {
		t.Errorf("Validate with a too complex pattern = %v", errs)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Warnings() =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestUnmarshal: a Form inside another document is read and checked as
// Parse does.
func TestUnmarshal(t *testing.T) {
	t.Parallel()
	var task struct {
		Form *form.Form `json:"form"`
	}
	if err := json.Unmarshal([]byte(`{"form": {"components": [{"type": "checkbox", "key": "ok"}]}}`), &task); err != nil {
		t.Fatal(err)
	}
	if errs := task.Form.Validate(m{"ok": "yes"}, nil); len(errs) != 1 {
		t.Errorf("Validate = %v, want one error", errs)
	}
	err := json.Unmarshal([]byte(`{"form": {"components": [{"type": "checkbox"}]}}`), &task)
	if !errors.Is(err, form.ErrInvalid) {
		t.Errorf("Unmarshal of a bad form = %v, want ErrInvalid", err)
	}
}

// TestFormByHand: a Form built as a struct literal is indexed on first use.
func TestFormByHand(t *testing.T) {
	t.Parallel()
	f := &form.Form{Type: "default", Components: []*form.Component{
		{Type: form.TypeNumber, Key: "n", Validate: &form.Validate{Max: form.Num(3)}},
	}}
	errs := f.Validate(m{"n": 4.0}, nil)
	if len(errs) != 1 || errs[0].Message != "must be at most 3" {
		t.Errorf("Validate = %v", errs)
	}
	if got := string(mustMarshal(t, f)); got != `{"type":"default","components":[{"type":"number","key":"n","validate":{"max":3}}]}` {
		t.Errorf("Marshal = %s", got)
	}
}

// TestConcurrentUse: a form, even one built by hand and indexed lazily, is
// used from many goroutines at once (run with -race).
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	f := &form.Form{Type: "default", Components: []*form.Component{
		{Type: form.TypeTextfield, Key: "a.b", Validate: &form.Validate{Pattern: "^x"}},
	}}
	done := make(chan bool)
	for range 8 {
		go func() {
			defer func() { done <- true }()
			if errs := f.Validate(m{"a": m{"b": "y"}}, nil); len(errs) != 1 {
				t.Errorf("Validate = %v", errs)
			}
			_ = f.Outputs(m{"a.b": "x"})
			_ = f.WithValues(m{"a": m{"b": "x"}})
		}()
	}
	for range 8 {
		<-done
	}
}
