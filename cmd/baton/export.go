package main

import (
	"context"
	"fmt"

	"github.com/batonhq/baton/internal/model/bpmn"
)

type exportCommand struct {
	main    *Main
	file    string
	process string
}

func (c *exportCommand) ParseFlags(ctx context.Context, args []string) error {
	fs := c.main.newFlagSet("export", "FILE [--process ID]", `
Write the workflow in FILE (workflow JSON or BPMN 2.0 XML) as BPMN 2.0 XML,
with a diagram, to standard output; bpmn.io and Camunda Modeler open it.`)
	fs.StringVar(&c.process, "process", "", "export this process `ID` of a BPMN file with several")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch len(pos) {
	case 0:
		return usageErrorf("export needs a FILE")
	case 1:
		c.file = pos[0]
	default:
		return usageErrorf("export takes one FILE, got %d", len(pos))
	}
	return nil
}

func (c *exportCommand) Run(ctx context.Context) error {
	d, err := c.main.loadDefinition(c.file, c.process)
	if err != nil {
		return err
	}
	xml, err := bpmn.Export(d)
	if err != nil {
		return fmt.Errorf("export %s: %w", c.file, err)
	}
	if _, err := c.main.Stdout.Write(xml); err != nil {
		return &exitError{code: ExitIO, err: fmt.Errorf("write: %w", err)}
	}
	return nil
}
