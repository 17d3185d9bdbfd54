package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/batonhq/baton/internal/expr"
	"github.com/batonhq/baton/internal/feel"
)

// maxVarsBytes bounds the variables file of baton eval.
const maxVarsBytes = 16 << 20

type evalCommand struct {
	main  *Main
	feel  bool
	vars  string
	input string
	src   string
}

func (c *evalCommand) ParseFlags(ctx context.Context, args []string) error {
	fs := c.main.newFlagSet("eval", "[--feel] [--vars FILE] [--input JSON] EXPRESSION", `
Evaluate one expression and print its result as JSON. Without --feel the
expression is in Baton's default language (expr-lang, as in workflow
conditions); with --feel it is FEEL, as Camunda 8 writes it after "=".
FEEL dates, times and durations print as {"@type": "date", "value":
"2019-08-12"}. --input makes EXPRESSION FEEL unary tests (a decision-table
input entry such as "[1..10], > 100") applied to the JSON value given, and
prints true, false or null. Exit 0, or 1 with the error on standard error
(2 for a bad command line).`)
	fs.BoolVar(&c.feel, "feel", false, "the expression is FEEL")
	fs.StringVar(&c.vars, "vars", "", "read the variables from `FILE`, a JSON object (- for standard input)")
	fs.StringVar(&c.input, "input", "", "test the `JSON` value against EXPRESSION as FEEL unary tests")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch len(pos) {
	case 0:
		return usageErrorf("eval needs an EXPRESSION")
	case 1:
		c.src = pos[0]
	default:
		return usageErrorf("eval takes one EXPRESSION, got %d arguments (quote the expression)", len(pos))
	}
	if c.input != "" && !c.feel {
		return usageErrorf("--input needs --feel: unary tests are FEEL")
	}
	return nil
}

func (c *evalCommand) Run(ctx context.Context) error {
	vars, err := c.readVars()
	if err != nil {
		return err
	}
	var out any
	switch {
	case !c.feel:
		vars = floatNumbers(vars).(map[string]any) // instance variables hold float64
		p, err := expr.Compile(c.src)
		if err != nil {
			return &exitError{code: ExitFailed, err: err}
		}
		if out, err = p.Eval(vars); err != nil {
			return &exitError{code: ExitFailed, err: err}
		}
	case c.input != "":
		in, err := decodeJSON([]byte(c.input))
		if err != nil {
			return &exitError{code: ExitFailed, err: fmt.Errorf("--input: %v", err)}
		}
		u, err := feel.CompileUnaryTests(c.src)
		if err != nil {
			return &exitError{code: ExitFailed, err: err}
		}
		if out, err = u.Eval(feel.FromJSON(in), feelVars(vars)); err != nil {
			return &exitError{code: ExitFailed, err: err}
		}
	default:
		x, err := feel.Compile(c.src)
		if err != nil {
			return &exitError{code: ExitFailed, err: err}
		}
		v, err := x.EvalValue(feelVars(vars))
		if err != nil {
			return &exitError{code: ExitFailed, err: err}
		}
		out = feel.ToJSON(v)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return &exitError{code: ExitFailed, err: fmt.Errorf("result: %w", err)}
	}
	if _, err := fmt.Fprintf(c.main.Stdout, "%s\n", b); err != nil {
		return &exitError{code: ExitIO, err: fmt.Errorf("write: %w", err)}
	}
	return nil
}

// readVars reads the --vars file: a JSON object, numbers kept exact.
func (c *evalCommand) readVars() (map[string]any, error) {
	vars := map[string]any{}
	if c.vars == "" {
		return vars, nil
	}
	var r io.Reader = c.main.Stdin
	if c.vars != "-" {
		f, err := os.Open(c.vars)
		if err != nil {
			return nil, &exitError{code: ExitFailed, err: err}
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxVarsBytes+1))
	if err != nil {
		return nil, &exitError{code: ExitFailed, err: fmt.Errorf("read %s: %w", c.vars, err)}
	}
	if len(data) > maxVarsBytes {
		return nil, &exitError{code: ExitFailed, err: fmt.Errorf("%s: larger than %d MiB", c.vars, maxVarsBytes>>20)}
	}
	v, err := decodeJSON(data)
	if err != nil {
		return nil, &exitError{code: ExitFailed, err: fmt.Errorf("%s: %v", c.vars, err)}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &exitError{code: ExitFailed, err: fmt.Errorf("%s: the variables must be a JSON object", c.vars)}
	}
	return m, nil
}

// decodeJSON reads one JSON value with numbers as json.Number.
func decodeJSON(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

// floatNumbers turns json.Number values into float64, as a workflow
// instance holds them.
func floatNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, el := range x {
			out[k] = floatNumbers(el)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, el := range x {
			out[i] = floatNumbers(el)
		}
		return out
	}
	return v
}

// feelVars reads typed values ({"@type": "date", ...}) in the variables.
func feelVars(vars map[string]any) map[string]any {
	out := make(map[string]any, len(vars))
	for k, v := range vars {
		out[k] = feel.FromJSON(v)
	}
	return out
}
