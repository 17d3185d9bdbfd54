package dmn

import (
	"fmt"
	"strings"
)

// Error is a parse or evaluation error, located as precisely as the
// source allows. Rule, Input and Output are 1-based as the modeler shows
// them; zero means "not about a rule" or "not about that column".
type Error struct {
	File     string // the name given to ParseXML or ParseJSON
	Line     int    // 1-based line in File (XML only), 0 when unknown
	Decision string // the decision's id, "" when unknown
	Rule     int    // 1-based rule number
	Input    int    // 1-based input column
	Output   int    // 1-based output column
	Label    string // the column's label or name
	Text     string // the entry or expression text concerned
	Pos      int    // 1-based position (in runes) of the problem in Text, 0 when unknown
	Msg      string
	Err      error // underlying error (such as a *feel.Error), may be nil
}

// Error formats e as
//
//	file:line: decision "d": rule 3: input 1 "Amount": entry "foo(1)" at 1: message
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		fmt.Fprintf(&b, "%s: ", e.File)
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Decision != "" {
		fmt.Fprintf(&b, "decision %q: ", e.Decision)
	}
	if e.Rule > 0 {
		fmt.Fprintf(&b, "rule %d: ", e.Rule)
	}
	switch {
	case e.Input > 0:
		fmt.Fprintf(&b, "input %d", e.Input)
	case e.Output > 0:
		fmt.Fprintf(&b, "output %d", e.Output)
	}
	if e.Input > 0 || e.Output > 0 {
		if e.Label != "" {
			fmt.Fprintf(&b, " %q", clip(e.Label, 60))
		}
		b.WriteString(": ")
	}
	if e.Text != "" || e.Pos > 0 {
		kind := "entry"
		if e.Rule == 0 {
			kind = "expression"
		}
		fmt.Fprintf(&b, "%s %q", kind, clip(e.Text, 80))
		if e.Pos > 0 {
			fmt.Fprintf(&b, " at %d", e.Pos)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorList is every problem ParseXML or ParseJSON found, in document
// order. errors.As finds each *Error in it.
type ErrorList []*Error

func (l ErrorList) Error() string {
	if len(l) == 1 {
		return l[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems:", len(l))
	for _, e := range l {
		b.WriteString("\n  ")
		b.WriteString(e.Error())
	}
	return b.String()
}

func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}
