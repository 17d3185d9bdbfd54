package dmn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// jsonTable is the JSON form of a decision table; docs/decisions-tables.md
// describes it. Entries are FEEL text, as in the XML.
type jsonTable struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	HitPolicy   string       `json:"hitPolicy"`
	Aggregation string       `json:"aggregation"`
	Inputs      []jsonInput  `json:"inputs"`
	Outputs     []jsonOutput `json:"outputs"`
	Rules       []jsonRule   `json:"rules"`
}

type jsonInput struct {
	Label      string `json:"label"`
	Expression string `json:"expression"`
	Type       string `json:"type"`
}

type jsonOutput struct {
	Name   string `json:"name"`
	Label  string `json:"label"`
	Type   string `json:"type"`
	Values []any  `json:"values"` // priority order for PRIORITY and OUTPUT ORDER
}

type jsonRule struct {
	Description string   `json:"description"`
	Inputs      []string `json:"inputs"`
	Outputs     []string `json:"outputs"`
}

// ParseJSON reads one decision table in Baton's JSON form. Unknown fields
// are errors. name is used in error messages, usually the file name.
// Problems are reported as an ErrorList of *Error.
func ParseJSON(name string, data []byte) (*Decision, error) {
	b := &builder{file: name}
	if len(data) > MaxSourceBytes {
		b.errorf(0, "", "document is larger than %d bytes", MaxSourceBytes)
		return nil, b.err()
	}
	var t jsonTable
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(&t)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("unexpected data after the decision table")
		}
	}
	if err != nil {
		line := 0
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line = lineOf(data, se.Offset)
		case errors.As(err, &te):
			line = lineOf(data, te.Offset)
			err = fmt.Errorf("%s: %s, want %s", te.Field, te.Value, te.Type)
		case errors.Is(err, io.EOF):
			err = errors.New("empty document")
		}
		b.errorf(line, "", "not a decision table: %v", err)
		return nil, b.err()
	}
	s := &tableSpec{id: t.ID, name: t.Name, hitPolicy: t.HitPolicy, aggregation: t.Aggregation}
	for _, in := range t.Inputs {
		s.inputs = append(s.inputs, inputSpec{label: in.Label, text: in.Expression, typeRef: in.Type})
	}
	for _, out := range t.Outputs {
		os := outputSpec{name: out.Name, label: out.Label, typeRef: out.Type, jsonValues: out.Values}
		if out.Values != nil && len(out.Values) == 0 {
			os.jsonValues = nil
		}
		s.outputs = append(s.outputs, os)
	}
	for _, r := range t.Rules {
		rs := ruleSpec{}
		for _, e := range r.Inputs {
			rs.inputs = append(rs.inputs, cellSpec{text: e})
		}
		for _, e := range r.Outputs {
			rs.outputs = append(rs.outputs, cellSpec{text: e})
		}
		s.rules = append(s.rules, rs)
	}
	d := b.build(s)
	if err := b.err(); err != nil {
		return nil, err
	}
	return d, nil
}

// lineOf returns the 1-based line of byte offset off in data.
func lineOf(data []byte, off int64) int {
	o := min(max(int(off), 0), len(data))
	return 1 + bytes.Count(data[:o], []byte{'\n'})
}
