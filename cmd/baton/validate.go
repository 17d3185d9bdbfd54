package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/model/bpmn"
)

type validateCommand struct {
	main    *Main
	files   []string
	process string
}

func (c *validateCommand) ParseFlags(ctx context.Context, args []string) error {
	fs := c.main.newFlagSet("validate", "FILE...", `
Parse and validate each workflow file (workflow JSON or BPMN 2.0 XML). Every
problem is printed with its location, as file:line: "nodeId": field: message,
followed by the warnings (unreachable nodes...). A good file prints
"FILE: ok (N nodes, M flows)". A BPMN file is checked process by process:
every executable process, or only the one named by --process.

Exit status: 0 when every file is valid (warnings allowed), 3 when any file
is invalid, 4 when a file cannot be read (4 wins over 3).`)
	fs.StringVar(&c.process, "process", "", "check only this process `ID` of BPMN files")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageErrorf("validate needs at least one FILE")
	}
	c.files = pos
	return nil
}

func (c *validateCommand) Run(ctx context.Context) error {
	worst := ExitOK
	fail := func(code int) {
		if code > worst {
			worst = code
		}
	}
	out := c.main.Stdout
	for _, path := range c.files {
		if err := ctx.Err(); err != nil {
			return err
		}
		defs, err := c.parse(path)
		var ve *model.ValidationError
		switch {
		case errors.As(err, &ve):
			for _, p := range ve.Problems {
				if p.File == "" {
					p.File = path
				}
				fmt.Fprintln(out, p)
			}
			fail(ExitInvalid)
			continue
		case err != nil && exitCode(err) == ExitUsage:
			return err
		case err != nil:
			fmt.Fprintf(out, "%s: %v\n", path, err)
			fail(exitCode(err))
			continue
		}
		for _, d := range defs {
			for _, w := range d.Warnings {
				if w.File == "" {
					w.File = path
				}
				fmt.Fprintln(out, w)
			}
			label := path
			if len(defs) > 1 {
				label = fmt.Sprintf("%s: process %q", path, d.ID)
			}
			fmt.Fprintf(out, "%s: ok (%s, %s)\n", label, plural(len(d.Nodes), "node"), plural(len(d.Edges), "flow"))
		}
	}
	if worst != ExitOK {
		return &exitError{code: worst}
	}
	return nil
}

// parse returns the definitions of one file: its one JSON workflow, or its
// BPMN processes (every executable one unless --process names one).
func (c *validateCommand) parse(path string) ([]*model.Definition, error) {
	data, err := readSource(c.main.Stdin, path)
	if err != nil {
		return nil, err
	}
	if model.IsXML(data) && c.process == "" {
		return bpmn.Parse(path, data)
	}
	if !model.IsXML(data) && c.process != "" {
		// --process selects among the processes of BPMN files; a JSON file
		// holds one workflow, so check it whole.
		d, err := model.ParseJSON(path, data)
		return []*model.Definition{d}, err
	}
	d, err := parseDefinition(path, data, c.process)
	if err != nil {
		return nil, err
	}
	return []*model.Definition{d}, nil
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
