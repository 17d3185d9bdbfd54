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
			p.Line, p.Column = positionAt(data, int(dec.InputOffset()))
		}
		return nil, &ValidationError{Problems: []Problem{p}}
	}
	if _, err := dec.Token(); err != io.EOF {
		line, col := positionAt(data, int(dec.InputOffset()))
		return nil, &ValidationError{Problems: []Problem{{File: name, Line: line, Column: col, Message: "unexpected data after the workflow object"}}}
	}
	if len(d.Nodes)+len(d.Edges) > MaxNodes {
		return nil, &ValidationError{Problems: []Problem{{File: name, Message: fmt.Sprintf("definition has %d nodes and edges; the limit is %d", len(d.Nodes)+len(d.Edges), MaxNodes)}}}
	}
	ix, dup := scanJSON(name, data)
	if dup != nil {
		return nil, &ValidationError{Problems: []Problem{*dup}}
	}
	for i, n := range d.Nodes {
		if n != nil {
			n.Line, n.Column, _ = ix.at(fmt.Sprintf("nodes[%d]", i))
		}
	}
	for i, e := range d.Edges {
		if e != nil {
			e.Line, e.Column, _ = ix.at(fmt.Sprintf("edges[%d]", i))
		}
	}
	d.Source, d.fromJSON = name, true
	err := d.Build(Options{})
	ix.locate(d.Warnings)
	if ve, ok := err.(*ValidationError); ok {
		ix.locate(ve.Problems)
	}
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// locate points each problem with a JSON path at the value it names (or
// its nearest written parent).
func (ix *jsonIndex) locate(probs []Problem) {
	for i := range probs {
		p := &probs[i]
		if p.Path == "" {
			continue
		}
		if line, col, ok := ix.at(p.Path); ok {
			p.Line, p.Column = line, col
		}
	}
}

func jsonProblem(name string, data []byte, err error) Problem {
	p := Problem{File: name, Message: err.Error()}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		// The offset is just past the offending byte.
		p.Line, p.Column = positionAt(data, int(se.Offset)-1)
		p.Message = "malformed JSON: " + se.Error()
	case errors.As(err, &te):
		if te.Offset > 0 {
			p.Line, p.Column = positionAt(data, int(te.Offset))
		}
		p.Field, p.Path = te.Field, te.Field
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

// positionAt converts a byte offset of data to a 1-based line and column.
func positionAt(data []byte, off int) (line, col int) {
	return (&jsonIndex{data: data}).position(off)
}

// MarshalJSON-compatible encoding: Definition encodes with encoding/json
// directly (its exported fields are the workflow JSON format).
func (d *Definition) JSON() ([]byte, error) {
	return json.MarshalIndent(d, "", "  ")
}
