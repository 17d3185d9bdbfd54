package form_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/batonhq/baton/internal/form"
)

// FuzzParse parses arbitrary input. Nothing may panic; an error is always
// a *SchemaError with at least one problem; a form that parses
// re-serialises to a form that parses to the same serialisation; and
// validating, filling and mapping any submission works.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("testdata/loan-application.form"); err == nil {
		f.Add(data)
	}
	for _, s := range []string{
		applicationForm,
		`{"type": "default", "components": [{"key": "approved", "type": "checkbox", "label": "Approve?", "validate": {"required": true}}]}`,
		`{"components": [{"type": "number", "key": "n", "increment": "0.5", "decimalDigits": 1, "validate": {"min": "=x", "max": 10}}]}`,
		`{"components": [{"type": "select", "key": "s", "values": [{"label": "A", "value": "a"}], "readonly": "=true"}]}`,
		`{"components": [{"type": "datetime", "key": "d", "subtype": "time"}, {"type": "taglist", "key": "t", "valuesKey": "opts"}]}`,
		`{"components": [{"type": "textfield", "key": "a.b", "validate": {"pattern": "^\\u0041(?=x)", "validationType": "phone"}}]}`,
		`{"components": [{"type": "dynamiclist", "path": "l", "components": [{"type": "dynamiclist", "path": "m", "components": []}]}]}`,
		`{"components": [{"type": "group", "path": "g", "conditional": {"hide": "=a"}, "components": [{"type": "radio", "key": "r"}]}]}`,
		`{"components": [1, null, {"type": null}]}`,
		`{"components": [{"type": "textfield", "key": "a", "key": "a"}]}`,
		`[]`, `null`, `"x"`, `{}`, `{"type": "default", "components": null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fm, err := form.Parse(data)
		if err != nil {
			var se *form.SchemaError
			if !errors.As(err, &se) || len(se.Problems) == 0 || !errors.Is(err, form.ErrInvalid) {
				t.Fatalf("Parse error %T %v is not a *SchemaError with problems", err, err)
			}
			return
		}
		out, err := json.Marshal(fm)
		if err != nil {
			t.Fatalf("Marshal of a parsed form: %v", err)
		}
		again, err := form.Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(form)) = %v\n%s", err, out)
		}
		out2, err := json.Marshal(again)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("serialisation is not stable (%v):\n%s\n%s", err, out, out2)
		}
		_ = fm.Warnings()

		// Use the document itself as values, whatever it holds.
		var vars map[string]any
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		_ = dec.Decode(&vars)
		for _, sub := range []map[string]any{nil, vars, fm.Data(vars)} {
			_ = fm.Validate(sub, vars)
			_ = form.Merge(vars, fm.Outputs(sub))
		}
		if _, err := json.Marshal(fm.WithValues(vars)); err != nil {
			t.Fatalf("Marshal(WithValues): %v", err)
		}
		g := form.Generate(form.GenerateInput{Variables: vars})
		if gd, err := json.Marshal(g); err != nil {
			t.Fatalf("Marshal(Generate): %v", err)
		} else if _, err := form.Parse(gd); err != nil {
			t.Fatalf("Parse(Generate(vars)) = %v\n%s", err, gd)
		}
	})
}
