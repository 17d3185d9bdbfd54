package form_test

import (
	"reflect"
	"testing"

	"github.com/batonhq/baton/internal/form"
)

const applicationForm = `{"type": "default", "id": "application", "components": [
	{"type": "text", "text": "Check the application"},
	{"type": "group", "path": "applicant", "components": [
		{"type": "textfield", "key": "name", "readonly": true},
		{"type": "textfield", "key": "email"}]},
	{"type": "number", "key": "amount", "defaultValue": 100},
	{"type": "checkbox", "key": "approved"},
	{"type": "textfield", "key": "review.comment"},
	{"type": "dynamiclist", "path": "items", "components": [{"type": "textfield", "key": "sku"}]}
]}`

func TestWithValues(t *testing.T) {
	t.Parallel()
	f := mustParse(t, applicationForm)
	vars := m{
		"applicant": m{"name": "Ada", "email": "ada@example.com", "secret": "x"},
		"approved":  true,
		"review":    m{"comment": "fine"},
		"items":     []any{m{"sku": "A1"}},
		"other":     "not in the form",
	}
	g := f.WithValues(vars)
	defaults := map[string]any{}
	var walk func(cs []*form.Component)
	walk = func(cs []*form.Component) {
		for _, c := range cs {
			if c.DefaultValue != nil {
				defaults[c.Key] = c.DefaultValue
			}
			walk(c.Components)
		}
	}
	walk(g.Components)
	want := map[string]any{
		"name": "Ada", "email": "ada@example.com", "amount": 100.0, // the form's own default stays
		"approved": true, "review.comment": "fine",
	}
	for k, v := range want {
		if k == "amount" {
			if got, ok := defaults[k]; !ok || got.(interface{ String() string }).String() != "100" {
				t.Errorf("amount default = %v, want 100", got)
			}
			continue
		}
		if !reflect.DeepEqual(defaults[k], v) {
			t.Errorf("default of %s = %#v, want %#v", k, defaults[k], v)
		}
	}
	if len(defaults) != len(want) {
		t.Errorf("defaults = %v, want the keys of %v", defaults, want)
	}
	// The copy validates like the original; the original is unchanged.
	if errs := g.Validate(m{"applicant": m{"name": "Ada"}}, vars); errs != nil {
		t.Errorf("Validate on the copy = %v", errs)
	}
	if f.Components[1].Components[0].DefaultValue != nil {
		t.Error("WithValues changed the original form")
	}
	// Changing the values afterwards does not reach the form.
	vars["applicant"].(m)["name"] = "Bob"
	if got := g.Components[1].Components[0].DefaultValue; got != "Ada" {
		t.Errorf("default after changing vars = %v", got)
	}
}

func TestData(t *testing.T) {
	t.Parallel()
	f := mustParse(t, applicationForm)
	got := f.Data(m{
		"applicant": m{"name": "Ada", "secret": "x"},
		"review":    m{"comment": "fine", "score": 3.0},
		"items":     []any{m{"sku": "A1"}},
		"other":     "not in the form",
	})
	want := m{
		"applicant": m{"name": "Ada"},
		"review":    m{"comment": "fine"},
		"items":     []any{m{"sku": "A1"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Data = %v, want %v", got, want)
	}
}

func TestOutputs(t *testing.T) {
	t.Parallel()
	f := mustParse(t, applicationForm)
	tests := []struct {
		name string
		sub  m
		want m
	}{
		{"nested", m{"applicant": m{"name": "Ada", "email": "a@x.org"}, "approved": true},
			m{"applicant": m{"email": "a@x.org"}, "approved": true}},
		{"flat dotted keys", m{"applicant.email": "a@x.org", "review.comment": "ok"},
			m{"applicant": m{"email": "a@x.org"}, "review": m{"comment": "ok"}}},
		{"cleared", m{"approved": nil, "amount": ""}, m{"approved": nil, "amount": ""}},
		{"list", m{"items": []any{m{"sku": "B2"}}}, m{"items": []any{m{"sku": "B2"}}}},
		{"unknown keys dropped", m{"bogus": 1.0}, m{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := f.Outputs(tt.sub); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Outputs(%v) = %v, want %v", tt.sub, got, tt.want)
			}
		})
	}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	vars := m{"applicant": m{"name": "Ada", "email": "old"}, "amount": 5.0, "tags": []any{"a"}}
	outputs := m{"applicant": m{"email": "new", "address": m{"city": "Oslo"}}, "tags": []any{"b"}, "approved": true}
	got := form.Merge(vars, outputs)
	want := m{
		"applicant": m{"name": "Ada", "email": "new", "address": m{"city": "Oslo"}},
		"amount":    5.0, "tags": []any{"b"}, "approved": true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Merge = %v, want %v", got, want)
	}
	if vars["applicant"].(m)["email"] != "old" || len(vars) != 3 {
		t.Errorf("Merge changed its argument: %v", vars)
	}
}
