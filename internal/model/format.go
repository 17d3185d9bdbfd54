package model

import (
	"bytes"
	"encoding/json"
	"unicode/utf16"
)

// Format says what a deployable source holds. The values are stored with
// every definition row and shown by the API, so they never change.
type Format string

// The formats Baton deploys.
const (
	FormatJSON Format = "json" // a workflow in Baton's JSON
	FormatBPMN Format = "bpmn" // a workflow in BPMN 2.0 XML
	FormatDMN  Format = "dmn"  // decision tables: DMN XML or a JSON decision table
	FormatForm Format = "form" // a form-js form, named by user tasks' form keys
)

// Workflow reports whether a source of this format is a process that
// instances run.
func (f Format) Workflow() bool { return f == FormatJSON || f == FormatBPMN }

// Noun names what a source of this format holds, for messages.
func (f Format) Noun() string {
	switch f {
	case FormatForm:
		return "form"
	case FormatDMN:
		return "decision table"
	}
	return "workflow"
}

// DetectFormat tells by content, never by file name, what a source holds:
// XML is DMN when it names the DMN namespace or schema in its first 4 KiB
// and BPMN otherwise; a JSON object is a form-js form when it has
// "type": "default" and a "components" list, a decision table when it has
// "rules" and no "nodes", and a workflow otherwise. A source that is
// neither parses as workflow JSON, whose parser then names the problem.
func DetectFormat(src []byte) Format {
	if bytes.HasPrefix(src, []byte("\xfe\xff")) || bytes.HasPrefix(src, []byte("\xff\xfe")) {
		// UTF-16 with a byte order mark: only XML is written so.
		return DetectFormat(utf16Head(src))
	}
	trim := trimHead(src)
	if len(trim) == 0 {
		return FormatJSON
	}
	if trim[0] == '<' {
		head := trim[:min(len(trim), 4096)]
		if bytes.Contains(head, []byte("omg.org/spec/DMN/")) || bytes.Contains(head, []byte("dmn.xsd")) {
			return FormatDMN
		}
		return FormatBPMN
	}
	if trim[0] != '{' {
		return FormatJSON
	}
	var top struct {
		Type       string          `json:"type"`
		Components json.RawMessage `json:"components"`
		Nodes      json.RawMessage `json:"nodes"`
		Rules      json.RawMessage `json:"rules"`
	}
	if json.Unmarshal(trim, &top) != nil {
		return FormatJSON
	}
	if c := bytes.TrimSpace(top.Components); top.Type == "default" && len(c) > 0 && c[0] == '[' {
		return FormatForm
	}
	if isSet(top.Rules) && !isSet(top.Nodes) {
		return FormatDMN
	}
	return FormatJSON
}

// isSet reports whether a JSON member is present and not null.
func isSet(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// IsXML reports whether a source is XML: its first character after any
// byte order mark and white space is '<'.
func IsXML(src []byte) bool {
	trim := trimHead(src)
	return len(trim) > 0 && trim[0] == '<'
}

func trimHead(src []byte) []byte {
	return bytes.TrimLeft(bytes.TrimPrefix(src, []byte("\xef\xbb\xbf")), " \t\r\n")
}

// utf16Head decodes the first few KiB of a UTF-16 source with a byte
// order mark to UTF-8, enough for DetectFormat to look at.
func utf16Head(src []byte) []byte {
	big := src[0] == 0xfe
	src = src[2:min(len(src), 8194)]
	units := make([]uint16, 0, len(src)/2)
	for i := 0; i+1 < len(src); i += 2 {
		if big {
			units = append(units, uint16(src[i])<<8|uint16(src[i+1]))
		} else {
			units = append(units, uint16(src[i+1])<<8|uint16(src[i]))
		}
	}
	return []byte(string(utf16.Decode(units)))
}
