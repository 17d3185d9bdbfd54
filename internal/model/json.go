package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxSourceBytes bounds a definition source (JSON or XML). Larger input is
// refused before it is parsed.
const MaxSourceBytes = 16 << 20

// MaxNodes bounds the number of nodes plus edges in one definition.
const MaxNodes = 100_000

// ParseJSON decodes and builds a workflow JSON definition. Unknown fields
// are errors; so is anything Build rejects. name labels errors (a file
// name), and may be empty.
func ParseJSON(name string, data []byte) (*Definition, error) {
	if len(data) > MaxSourceBytes {
		return nil, &ValidationError{Problems: []Problem{{File: name, Message: fmt.Sprintf("definition is %d bytes; the limit is %d", len(data), MaxSourceBytes)}}}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte-order mark
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d Definition
	if err := dec.Decode(&d); err != nil {
		p := jsonProblem(name, data, err)
		if p.Line == 0 {
			p.Line = lineAt(data, int(dec.InputOffset()))
		}
		return nil, &ValidationError{Problems: []Problem{p}}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &ValidationError{Problems: []Problem{{File: name, Line: lineAt(data, int(dec.InputOffset())), Message: "unexpected data after the workflow object"}}}
	}
	if len(d.Nodes)+len(d.Edges) > MaxNodes {
		return nil, &ValidationError{Problems: []Problem{{File: name, Message: fmt.Sprintf("definition has %d nodes and edges; the limit is %d", len(d.Nodes)+len(d.Edges), MaxNodes)}}}
	}
	d.Source = name
	if err := d.Build(Options{}); err != nil {
		return nil, err
	}
	return &d, nil
}

func jsonProblem(name string, data []byte, err error) Problem {
	p := Problem{File: name, Message: err.Error()}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		p.Line = lineAt(data, int(se.Offset))
		p.Message = "malformed JSON: " + se.Error()
	case errors.As(err, &te):
		p.Line = lineAt(data, int(te.Offset))
		p.Field = te.Field
		p.Message = fmt.Sprintf("wrong type: got JSON %s, want %s", te.Value, te.Type)
	case errors.Is(err, io.EOF):
		p.Message = "empty document"
	case errors.Is(err, io.ErrUnexpectedEOF):
		p.Message = "malformed JSON: unexpected end of input"
	default:
		p.Message = strings.TrimPrefix(p.Message, "json: ")
	}
	return p
}

func lineAt(data []byte, off int) int {
	if off > len(data) {
		off = len(data)
	}
	if off < 0 {
		off = 0
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// MarshalJSON-compatible encoding: Definition encodes with encoding/json
// directly (its exported fields are the workflow JSON format).
func (d *Definition) JSON() ([]byte, error) {
	return json.MarshalIndent(d, "", "  ")
}
