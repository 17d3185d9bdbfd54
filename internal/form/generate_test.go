package form_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/form"
)

// summary describes a generated component as "type key [flags]" lines,
// nested components indented.
func summary(cs []*form.Component, indent string) []string {
	var out []string
	for _, c := range cs {
		s := indent + c.Type
		if c.Key != "" {
			s += " " + c.Key
		}
		if c.Path != "" {
			s += " path=" + c.Path
		}
		if c.Label != "" {
			s += " " + strings.ReplaceAll(c.Label, " ", "_")
		}
		if c.DateLabel != "" {
			s += " date=" + strings.ReplaceAll(c.DateLabel, " ", "_")
		}
		if c.Subtype != "" {
			s += " subtype=" + c.Subtype
		}
		if c.Readonly.Static() {
			s += " readonly"
		}
		if c.DecimalDigits != nil {
			s += " decimals=0"
		}
		for _, o := range c.Values {
			s += " " + o.Label
		}
		out = append(out, s)
		out = append(out, summary(c.Components, indent+"  ")...)
	}
	return out
}

// fields returns a generated form's components after its opening note,
// and the note.
func fields(t *testing.T, f *form.Form) ([]*form.Component, string) {
	t.Helper()
	if len(f.Components) == 0 || f.Components[0].Type != form.TypeText || !strings.HasPrefix(f.Components[0].Text, "This task has no form") {
		t.Fatalf("generated form does not open with a note on what it was made from: %+v", f.Components)
	}
	return f.Components[1:], f.Components[0].Text
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	vars := m{
		"amount":      1500.0,
		"count":       3,
		"approved":    false,
		"comment":     "",
		"notes":       "line one\nline two",
		"dueDate":     "2024-06-01",
		"submittedAt": "2024-05-01T09:30:00Z",
		"tags":        []any{"urgent", "vip", "urgent"},
		"level":       "low",
		"channels":    []any{"email"},
		"applicant":   m{"name": "Ada", "email": "ada@example.com", "address": m{"city": "Oslo"}},
		"items":       []any{m{"sku": "A1", "qty": 2.0}, m{"sku": "B2", "note": "gift"}},
		"mixed":       []any{"a", m{"b": 1.0}},
		"empty":       m{},
		"first name":  "x",
		"unused":      "not declared",
	}
	in := form.GenerateInput{
		ID:        "review",
		Inputs:    []string{"amount", "count", "dueDate", "submittedAt", "tags", "applicant", "items", "mixed", "empty", "first name", "notes"},
		Outputs:   []string{"approved", "comment", "level", "channels", "applicant.email", "notes", "decision"},
		Variables: vars,
		Options: map[string][]form.Option{
			"level":    {{Label: "Low", Value: "low"}, {Label: "High", Value: "high"}},
			"channels": {{Label: "Email", Value: "email"}, {Label: "SMS", Value: "sms"}},
		},
	}
	f := form.Generate(in)
	cs, opening := fields(t, f)
	if !strings.Contains(opening, "outputs (`approved`, `comment`") || !strings.Contains(opening, "inputs read-only") {
		t.Errorf("opening note %q does not name the outputs", opening)
	}
	got := summary(cs, "")
	want := []string{
		"number amount Amount readonly",
		"number count Count readonly decimals=0",
		"datetime dueDate date=Due_date subtype=date readonly",
		"datetime submittedAt date=Submitted_at subtype=datetime readonly",
		"taglist tags Tags readonly urgent vip",
		"group path=applicant Applicant",
		"  group path=address Address",
		"    textfield city City readonly",
		"  textfield email Email",
		"  textfield name Name readonly",
		"dynamiclist path=items Items",
		"  textfield note Note readonly",
		"  number qty Qty readonly",
		"  textfield sku Sku readonly",
		"textarea notes Notes",
		"checkbox approved Approved",
		"textfield comment Comment",
		"select level Level Low High",
		"checklist channels Channels Email SMS",
		"textfield decision Decision",
		"text",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Generate =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	note := f.Components[len(f.Components)-1].Text
	for _, s := range []string{"`mixed`", "`empty`", "`first name`"} {
		if !strings.Contains(note, s) {
			t.Errorf("closing note %q does not mention %s", note, s)
		}
	}
	if f.ID != "review" || f.Type != "default" || f.SchemaVersion != form.SchemaVersion {
		t.Errorf("form header = %q %q %d", f.ID, f.Type, f.SchemaVersion)
	}

	// The form accepts the current values as they are and takes the outputs.
	sub := f.Data(vars)
	if errs := f.Validate(sub, vars); errs != nil {
		t.Errorf("Validate(current values) = %v", errs)
	}
	sub = m{"approved": true, "comment": "ok", "level": "high", "channels": []any{"sms"},
		"applicant": m{"email": "new@example.com"}, "notes": "n", "decision": "yes"}
	if errs := f.Validate(sub, vars); errs != nil {
		t.Errorf("Validate(outputs) = %v", errs)
	}
	bad := m{"amount": 1.0, "level": "mid", "applicant": m{"name": "Bob"}, "unused": "x"}
	var msgs []string
	for _, e := range f.Validate(bad, vars) {
		msgs = append(msgs, e.Error())
	}
	wantBad := []string{
		"amount: is read-only and cannot be changed",
		"applicant.name: is read-only and cannot be changed",
		`level: must be one of "low", "high", not "mid"`,
		"unused: is not a field of this form",
	}
	if strings.Join(msgs, "\n") != strings.Join(wantBad, "\n") {
		t.Errorf("Validate(bad) =\n  %s\nwant\n  %s", strings.Join(msgs, "\n  "), strings.Join(wantBad, "\n  "))
	}

	// The generated form is a form-js schema that Parse accepts as it is.
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := form.Parse(data)
	if err != nil {
		t.Fatalf("Parse(Generate) = %v\n%s", err, data)
	}
	if again, _ := json.Marshal(g); string(again) != string(data) {
		t.Errorf("generated form does not round-trip:\n%s\n%s", data, again)
	}
}

// TestGenerateDeterministic: the same input gives the same form, whatever
// the map order.
func TestGenerateDeterministic(t *testing.T) {
	t.Parallel()
	vars := m{"b": 1.0, "a": "x", "c": m{"z": 1.0, "y": true, "x": "s"}, "d": []any{m{"q": 1.0, "p": 2.0}}}
	first, _ := json.Marshal(form.Generate(form.GenerateInput{Variables: vars}))
	for range 20 {
		again, _ := json.Marshal(form.Generate(form.GenerateInput{Variables: vars}))
		if string(again) != string(first) {
			t.Fatalf("Generate is not deterministic:\n%s\n%s", first, again)
		}
	}
}

// TestGenerateNothingDeclared: without outputs nobody said what the task
// sets, so every variable is shown, sorted, and editable: a person can
// give the task its result, and the form says how it was made.
func TestGenerateNothingDeclared(t *testing.T) {
	t.Parallel()
	vars := m{"zeta": true, "alpha": 1.0, "mid": "x"}
	f := form.Generate(form.GenerateInput{Variables: vars})
	cs, opening := fields(t, f)
	got := summary(cs, "")
	want := []string{"number alpha Alpha", "textfield mid Mid", "checkbox zeta Zeta"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Generate = %v, want %v", got, want)
	}
	if !strings.Contains(opening, "declares no outputs") || !strings.Contains(opening, "instance's variables") {
		t.Errorf("opening note %q", opening)
	}
	if f.ID != "generated" {
		t.Errorf("ID = %q", f.ID)
	}
	sub := m{"zeta": false, "mid": "changed"}
	if errs := f.Validate(sub, vars); errs != nil {
		t.Errorf("Validate(changed values) = %v", errs)
	}
	if out := f.Outputs(sub); !reflect.DeepEqual(out, sub) {
		t.Errorf("Outputs = %v, want %v", out, sub)
	}
	if errs := f.Validate(m{"extra": 1.0}, vars); len(errs) != 1 || errs[0].Key != "extra" {
		t.Errorf("Validate(a new name) = %v, want it refused", errs)
	}

	// Inputs without outputs: the inputs, editable.
	cs, opening = fields(t, form.Generate(form.GenerateInput{Inputs: []string{"mid"}, Variables: vars}))
	if got := summary(cs, ""); !reflect.DeepEqual(got, []string{"textfield mid Mid"}) || !strings.Contains(opening, "from its inputs (`mid`)") {
		t.Errorf("Generate(inputs only) = %v, %q", got, opening)
	}

	empty := form.Generate(form.GenerateInput{})
	if cs, opening := fields(t, empty); len(cs) != 0 || !strings.Contains(opening, "complete it when it is done") {
		t.Errorf("Generate(empty) = %v, %q", cs, opening)
	}
}

// TestGeneratePaths: dotted names reach into objects; a name inside a
// shown object does not repeat it.
func TestGeneratePaths(t *testing.T) {
	t.Parallel()
	f := form.Generate(form.GenerateInput{
		Inputs:    []string{"applicant.name", "applicant", "order.total"},
		Outputs:   []string{"applicant.phone"},
		Variables: m{"applicant": m{"name": "Ada", "phone": "+4712345678"}, "order": m{"total": 10.0}},
	})
	cs, _ := fields(t, f)
	got := summary(cs, "")
	want := []string{
		"group path=applicant Applicant",
		"  textfield name Name readonly",
		"  textfield phone Phone",
		"number order.total Total readonly",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Generate = %v, want %v", got, want)
	}
	out := f.Outputs(m{"applicant": m{"phone": "+4787654321"}})
	if !reflect.DeepEqual(out, m{"applicant": m{"phone": "+4787654321"}}) {
		t.Errorf("Outputs = %v", out)
	}
}

func TestGenerateLabels(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]string{
		"loanAmount":      "Loan amount",
		"loan_amount":     "Loan amount",
		"orderID":         "Order ID",
		"HTTPStatus":      "HTTP status",
		"x":               "X",
		"address2":        "Address2",
		"kebab-case-name": "Kebab case name",
	} {
		f := form.Generate(form.GenerateInput{Outputs: []string{key}})
		if got := f.Components[1].Label; got != want {
			t.Errorf("label of %q = %q, want %q", key, got, want)
		}
	}
}
