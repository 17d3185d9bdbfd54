package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = ""

type versionCommand struct{ main *Main }

func (c *versionCommand) ParseFlags(ctx context.Context, args []string) error {
	fs := c.main.newFlagSet("version", "", "Print the version of baton.")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("version takes no arguments")
	}
	return nil
}

func (c *versionCommand) Run(ctx context.Context) error {
	v, rev, goVersion := version, "", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = s.Value[:12]
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	fmt.Fprintf(c.main.Stdout, "baton %s", v)
	if rev != "" {
		fmt.Fprintf(c.main.Stdout, " (%s)", rev)
	}
	if goVersion != "" {
		fmt.Fprintf(c.main.Stdout, " %s", goVersion)
	}
	fmt.Fprintln(c.main.Stdout)
	return nil
}

type helpCommand struct {
	main  *Main
	topic string
}

func (c *helpCommand) ParseFlags(ctx context.Context, args []string) error {
	if len(args) > 1 {
		return usageErrorf("help takes at most one command name")
	}
	if len(args) == 1 && args[0] != "-h" && args[0] != "-help" && args[0] != "--help" {
		c.topic = args[0]
	}
	return nil
}

func (c *helpCommand) Run(ctx context.Context) error {
	if c.topic == "" || c.topic == "help" {
		c.main.usage(c.main.Stdout)
		return nil
	}
	for _, cmd := range commands {
		if cmd.name == c.topic {
			// Let the command print its own usage, to standard output.
			out := &Main{Stdin: c.main.Stdin, Stdout: c.main.Stdout, Stderr: c.main.Stdout}
			_ = cmd.new(out).ParseFlags(ctx, []string{"-h"})
			return nil
		}
	}
	return usageErrorf("unknown help topic %q", c.topic)
}

// usage prints the overview: commands and exit codes.
func (m *Main) usage(w io.Writer) {
	fmt.Fprint(w, `Baton runs durable BPMN workflows.

Usage: baton <command> [arguments]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run 'baton help <command>' (or 'baton <command> -h') for its flags.
A workflow file is workflow JSON or BPMN 2.0 XML; baton tells them apart by
content (XML starts with '<'). "-" reads the file from standard input.

Exit codes:
  0  completed, or stopped at a wait state as expected
  1  the run ended in an error or an incident
  2  usage error (unknown command or flag, missing argument)
  3  invalid definition (parsing or validation failed)
  4  I/O error (file not found, unreadable, cannot write)
`)
}
