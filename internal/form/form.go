// Package form is Baton's FormAgent: bpmn.io form-js schemas (the format
// Camunda Modeler's form editor saves), forms generated for user tasks that
// have none, and server-side validation of submissions.
//
// It is pure Go with no I/O and imports no other Baton package. A form goes
// through three steps:
//
//	f, err := form.Parse(data)               // or form.Generate(in) for a task without a form
//	view := f.WithValues(vars)               // schema + current values, for the task's form endpoint
//	errs := f.Validate(submission, vars)     // every bad field, in form order; nil when valid
//	vars = form.Merge(vars, f.Outputs(submission))
//
// Parse keeps every property it does not interpret, in the order it was
// written, so a form designed in Camunda Modeler re-serialises unchanged.
//
// Values are JSON values as encoding/json decodes them into any: string,
// float64 or json.Number, bool, nil, []any and map[string]any (Go integer
// types are accepted as numbers too).
//
// FEEL expressions ("=...") and conditions (conditional.hide) are not
// evaluated: a rule set by an expression is not checked, and a field that
// may be hidden is never required (a value it has is still checked).
package form

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
)

// Limits on the forms Parse accepts.
const (
	// MaxSize is the largest form document, in bytes.
	MaxSize = 2 << 20
	// MaxDepth is how deeply components may nest (groups in groups).
	MaxDepth = 16
	// MaxComponents is the most components a form may have, nested ones
	// included.
	MaxComponents = 2000
	// maxJSONDepth bounds nesting of arrays and objects anywhere in the
	// document, properties Baton does not read included.
	maxJSONDepth = 64
)

// SchemaVersion is the form-js schema version Generate writes.
const SchemaVersion = 16

// Component types Baton interprets. Other types are kept as they are:
// with a key they are treated as inputs whose values are not checked.
const (
	TypeTextfield   = "textfield"
	TypeTextarea    = "textarea"
	TypeNumber      = "number"
	TypeCheckbox    = "checkbox"
	TypeChecklist   = "checklist"
	TypeRadio       = "radio"
	TypeSelect      = "select"
	TypeTaglist     = "taglist"
	TypeDatetime    = "datetime"
	TypeExpression  = "expression"
	TypeFilepicker  = "filepicker"
	TypeText        = "text"
	TypeHTML        = "html"
	TypeImage       = "image"
	TypeButton      = "button"
	TypeSpacer      = "spacer"
	TypeSeparator   = "separator"
	TypeIframe      = "iframe"
	TypeTable       = "table"
	TypeDocPreview  = "documentPreview"
	TypeGroup       = "group"
	TypeDynamicList = "dynamiclist"
)

// Datetime subtypes.
const (
	SubtypeDate     = "date"
	SubtypeTime     = "time"
	SubtypeDatetime = "datetime"
)

// ErrInvalid is wrapped by every *SchemaError: the document is not a form
// Baton accepts.
var ErrInvalid = errors.New("invalid form")

// Form is a form-js schema:
//
//	{"type": "default", "id": "...", "components": [...], "schemaVersion": 16,
//	 "exporter": {"name": "Camunda Modeler", "version": "5.x"}}
//
// Build one with Parse or Generate, and hold it by pointer (*Form encodes
// and decodes itself; a Form value inside another struct would not). Do not
// change a Form after it has been used; WithValues returns a changed copy.
// A Form is safe for concurrent use.
type Form struct {
	Type                     string // "default"
	ID                       string
	SchemaVersion            int
	ExecutionPlatform        string
	ExecutionPlatformVersion string
	Exporter                 *Exporter
	Components               []*Component
	// Extra holds the properties Baton does not interpret, as written.
	Extra map[string]json.RawMessage

	order []string // property names as written, for re-serialising
	idx   atomic.Pointer[index]
}

// Exporter names the tool that wrote the form.
type Exporter struct {
	Name    string
	Version string
	Extra   map[string]json.RawMessage
	order   []string
}

// Component is one element of a form: an input (textfield, number...),
// a container (group, dynamiclist) or presentation (text, image...).
type Component struct {
	ID          string
	Type        string
	Key         string // binds an input to a variable; may be a dotted path
	Path        string // for containers: prefix of their children's keys
	Label       string
	Description string
	// DefaultValue is used when the variable has no value.
	DefaultValue any
	Readonly     *Flag
	Disabled     *Flag
	Validate     *Validate
	// Values are static options (select, radio, checklist, taglist).
	Values []Option
	// ValuesKey names a variable holding the options; ValuesExpression is a
	// FEEL expression giving them.
	ValuesKey         string
	ValuesExpression  string
	Subtype           string // datetime: date (default), time or datetime
	DateLabel         string
	TimeLabel         string
	Increment         *Number
	DecimalDigits     *int
	SerializeToString bool // number: the value is submitted as a string
	Text              string
	Conditional       *Conditional
	Components        []*Component
	// Extra holds the properties Baton does not interpret (layout,
	// appearance, action, source...), as written.
	Extra map[string]json.RawMessage

	order []string
}

// Validate holds a component's validation rules.
type Validate struct {
	Required bool
	Min      *Number
	Max      *Number
	// MinLength and MaxLength count characters of the trimmed text.
	MinLength *Number
	MaxLength *Number
	// Pattern is a regular expression the text must contain a match of
	// (JavaScript RegExp.test semantics, checked with Go's regexp).
	Pattern string
	// ValidationType is "email", "phone", "custom" or "".
	ValidationType string
	Extra          map[string]json.RawMessage
	order          []string
}

// Option is one static option of a select, radio, checklist or taglist.
type Option struct {
	Label string
	Value any
	Extra map[string]json.RawMessage
	order []string
}

// Conditional says when a component is hidden. Baton does not evaluate it.
type Conditional struct {
	Hide  string
	Extra map[string]json.RawMessage
	order []string
}

// Flag is a boolean property (readonly, disabled) that form-js also
// accepts as a FEEL expression string.
type Flag struct {
	Value bool
	Expr  string // set when the property is a string
}

// Static reports whether the flag is set to true literally (an expression
// is never treated as true: Baton does not evaluate it).
func (f *Flag) Static() bool { return f != nil && f.Expr == "" && f.Value }

// MarshalJSON writes the flag as a boolean or as its expression.
func (f Flag) MarshalJSON() ([]byte, error) {
	if f.Expr != "" {
		return marshal(f.Expr)
	}
	return marshal(f.Value)
}

// UnmarshalJSON reads a boolean or a string.
func (f *Flag) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case bool:
		*f = Flag{Value: v}
	case string:
		*f = Flag{Expr: v}
	default:
		return &propError{msg: "must be true, false or an expression, not " + kindOf(v)}
	}
	return nil
}

// Number is a numeric property (min, max, minLength, maxLength, increment)
// that form-js also accepts as a string: a number in quotes or a FEEL
// expression.
type Number struct {
	Lit    json.Number // the number as written, when it is one
	Quoted bool        // Lit was written as a string
	Expr   string      // a FEEL expression ("=..."), not evaluated
}

// Num returns a Number holding v.
func Num(v float64) *Number {
	return &Number{Lit: json.Number(strconv.FormatFloat(v, 'g', -1, 64))}
}

// Float returns the number, and false when it is an expression.
func (n *Number) Float() (float64, bool) {
	if n == nil || n.Lit == "" {
		return 0, false
	}
	f, err := n.Lit.Float64()
	return f, err == nil
}

// MarshalJSON writes the number as it was written.
func (n Number) MarshalJSON() ([]byte, error) {
	switch {
	case n.Expr != "":
		return marshal(n.Expr)
	case n.Quoted:
		return marshal(n.Lit.String())
	case n.Lit == "":
		return []byte("null"), nil
	}
	return []byte(n.Lit), nil
}

// UnmarshalJSON reads a number, a numeric string or an expression.
func (n *Number) UnmarshalJSON(data []byte) error {
	v, err := decodeAny(data)
	if err != nil {
		return err
	}
	switch v := v.(type) {
	case json.Number:
		if _, err := strconv.ParseFloat(v.String(), 64); err != nil {
			return &propError{msg: "is out of range: " + v.String()}
		}
		*n = Number{Lit: v}
	case string:
		s := strings.TrimSpace(v)
		if strings.HasPrefix(s, "=") || strings.Contains(s, "{{") {
			*n = Number{Expr: v}
			return nil
		}
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return &propError{msg: fmt.Sprintf("must be a number or an expression (\"=...\"), not %q", v)}
		}
		*n = Number{Lit: json.Number(s), Quoted: true}
	default:
		return &propError{msg: "must be a number, not " + kindOf(v)}
	}
	return nil
}

// label is how errors name a component: its label, else its key.
func (c *Component) label() string {
	switch {
	case c.Label != "":
		return c.Label
	case c.DateLabel != "":
		return c.DateLabel
	case c.TimeLabel != "":
		return c.TimeLabel
	}
	return c.Key
}

// Problem is one thing wrong with a form document, located by component
// (its place in the document and its key) and property.
type Problem struct {
	Component string // "components[2].components[0]"; "" for the form itself
	Key       string // the component's key (or path), when it has one
	Property  string // "validate.min"; "" for the whole component
	Message   string
}

// Location joins component and property: "components[2].validate.min".
func (p Problem) Location() string {
	switch {
	case p.Component == "":
		return p.Property
	case p.Property == "":
		return p.Component
	}
	return p.Component + "." + p.Property
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Component)
	if p.Key != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "(key %q)", p.Key)
	}
	if p.Property != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p.Property)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// SchemaError lists every problem Parse found. It wraps ErrInvalid.
type SchemaError struct {
	Problems []Problem
}

func (e *SchemaError) Error() string {
	switch len(e.Problems) {
	case 0:
		return "invalid form"
	case 1:
		return "invalid form: " + e.Problems[0].String()
	}
	return fmt.Sprintf("invalid form: %s (and %d more problems)", e.Problems[0], len(e.Problems)-1)
}

func (e *SchemaError) Unwrap() error { return ErrInvalid }

// FieldError is one thing wrong with a submission.
type FieldError struct {
	Key     string `json:"key"` // dotted path; list items as "items[0].name"
	Label   string `json:"label,omitempty"`
	Message string `json:"message"`
}

func (e FieldError) Error() string { return e.Key + ": " + e.Message }

// ErrInvalidSubmission is wrapped by *SubmissionError.
var ErrInvalidSubmission = errors.New("invalid submission")

// SubmissionError carries the field errors of a rejected submission to
// the edge that reports them (HTTP 422).
type SubmissionError struct {
	Fields []FieldError
}

func (e *SubmissionError) Error() string {
	if len(e.Fields) == 0 {
		return ErrInvalidSubmission.Error()
	}
	parts := make([]string, 0, min(len(e.Fields), 3)+1)
	for i, f := range e.Fields {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Fields)-3))
			break
		}
		parts = append(parts, f.Error())
	}
	return "invalid submission: " + strings.Join(parts, "; ")
}

func (e *SubmissionError) Unwrap() error { return ErrInvalidSubmission }
