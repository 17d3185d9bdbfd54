// Command baton runs Baton workflows: from the command line (run, validate,
// export, replay, bench), as a server (serve), and as a client of a running
// server (start, tasks, complete, ...).
//
// main stays thin: it builds a Main, lets it parse the arguments and run
// the chosen command, closes it and turns the outcome into an exit code.
// Every command lives in its own file and is listed once, in commands below.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/model/bpmn"
	"github.com/batonhq/baton/internal/script"
)

// Exit codes. They are part of the CLI contract (docs/cli.md).
const (
	ExitOK      = 0 // completed, or stopped at a wait state as expected
	ExitFailed  = 1 // the run ended in an error or an incident
	ExitUsage   = 2 // bad command line
	ExitInvalid = 3 // a definition failed to parse or validate
	ExitIO      = 4 // a file could not be read or written
)

func main() {
	// A script worker started by serve's pool never gets past this line.
	script.RunWorkerIfRequested()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := NewMain().Exec(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// Main is the program: its standard streams and the command chosen by
// ParseFlags. Tests run it in-process with their own streams.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	cmd command
}

// NewMain returns a Main on the process's standard streams.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
}

// command is one subcommand. ParseFlags reads its flags and arguments (args
// exclude the command name); Run does the work. A command that holds
// resources (a database, a listener) also implements io.Closer.
type command interface {
	ParseFlags(ctx context.Context, args []string) error
	Run(ctx context.Context) error
}

// commands lists every subcommand in the order `baton help` shows them;
// each lives in its own file.
var commands = []struct {
	name    string
	summary string
	new     func(m *Main) command
}{
	{"run", "run a workflow in memory: to completion, or to its first wait state", func(m *Main) command { return &runCommand{main: m} }},
	{"validate", "check workflow files and print every problem with its location", func(m *Main) command { return &validateCommand{main: m} }},
	{"export", "write a workflow as BPMN 2.0 XML (with diagram) to standard output", func(m *Main) command { return &exportCommand{main: m} }},
	{"serve", "run the server: database, job runner, REST API, metrics", func(m *Main) command { return &serveCommand{main: m} }},
	{"deploy", "deploy a workflow file to a running server", func(m *Main) command { return &deployCommand{main: m} }},
	{"start", "start an instance on a running server", func(m *Main) command { return &startCommand{main: m} }},
	{"tasks", "list open user tasks on a running server", func(m *Main) command { return &tasksCommand{main: m} }},
	{"complete", "complete a user task on a running server", func(m *Main) command { return &completeCommand{main: m} }},
	{"instance", "show an instance on a running server", func(m *Main) command { return &instanceCommand{main: m} }},
	{"mcp", "serve Baton's API as MCP tools over standard input and output", func(m *Main) command { return &mcpCommand{main: m} }},
	{"llm-eval", "re-ask recorded LLM gateway decisions with a changed prompt, model or provider, and compare", func(m *Main) command { return &llmEvalCommand{main: m} }},
	{"replay", "re-run a recorded instance offline and report where it diverges", func(m *Main) command { return &replayCommand{main: m} }},
	{"eval", "evaluate one expression (--feel: FEEL) over JSON variables and print the result", func(m *Main) command { return &evalCommand{main: m} }},
	{"bench", "measure the runtime on the benchmark models (instances/s, latency, memory)", func(m *Main) command { return &benchCommand{main: m} }},
	{"version", "print the version", func(m *Main) command { return &versionCommand{main: m} }},
	{"help", "show help for baton or for one command", func(m *Main) command { return &helpCommand{main: m} }},
}

// Exec parses args, runs the command and closes it, printing any error to
// Stderr. It returns the process exit code.
func (m *Main) Exec(ctx context.Context, args []string) int {
	err := m.ParseFlags(ctx, args)
	if err == nil {
		err = m.Run(ctx)
	}
	if cerr := m.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return m.report(err)
}

// ParseFlags picks the command named by args[0] and lets it parse the
// rest.
func (m *Main) ParseFlags(ctx context.Context, args []string) error {
	if len(args) == 0 {
		m.usage(m.Stderr)
		return &exitError{code: ExitUsage}
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	if name == "script-worker" { // hidden: see scriptworker.go
		m.cmd = scriptWorkerCommand{}
		return nil
	}
	for _, c := range commands {
		if c.name == name {
			m.cmd = c.new(m)
			return m.cmd.ParseFlags(ctx, args[1:])
		}
	}
	return usageErrorf("unknown command %q (run 'baton help' for the list)", args[0])
}

// Run runs the command chosen by ParseFlags.
func (m *Main) Run(ctx context.Context) error {
	if m.cmd == nil {
		return usageErrorf("no command")
	}
	return m.cmd.Run(ctx)
}

// Close releases what the command holds.
func (m *Main) Close() error {
	if c, ok := m.cmd.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// report prints err and maps it to an exit code.
func (m *Main) report(err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK // the flag set has printed the usage
	}
	code := exitCode(err)
	var ee *exitError
	if errors.As(err, &ee) && ee.err == nil {
		return code // already reported
	}
	fmt.Fprintf(m.Stderr, "baton: %v\n", err)
	if code == ExitUsage {
		fmt.Fprintln(m.Stderr, "Run 'baton help' for usage.")
	}
	return code
}

// exitError carries an exit code. With a nil err the command has already
// told the user what happened.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	var ee *exitError
	var ve *model.ValidationError
	var pe *fs.PathError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ve):
		return ExitInvalid
	case errors.As(err, &pe), errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return ExitIO
	}
	return ExitFailed
}

// newFlagSet returns a flag set that prints its usage (synopsis, then the
// flags) to the Main's Stderr, or to Stdout when the user asked for -h.
func (m *Main) newFlagSet(name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet("baton "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: baton %s %s\n\n%s\n", name, synopsis, strings.TrimSpace(about))
		var flags bytes.Buffer
		fs.SetOutput(&flags)
		fs.PrintDefaults()
		fs.SetOutput(w)
		if flags.Len() > 0 {
			fmt.Fprintf(w, "\nFlags:\n%s", flags.String())
		}
	}
	return fs
}

// parseArgs parses flags that may come before, between or after the
// positional arguments ("baton run loan.json --var amount=5"), which the
// flag package alone does not allow. A "--" ends the flags.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &exitError{code: ExitUsage} // the flag set has printed the error and usage
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// readSource reads a definition file ("-" is standard input), refusing one
// larger than model.MaxSourceBytes before reading it whole.
func readSource(stdin io.Reader, path string) ([]byte, error) {
	var r io.Reader
	if path == "-" {
		r = stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if fi, err := f.Stat(); err != nil {
			return nil, err
		} else if fi.IsDir() {
			return nil, &fs.PathError{Op: "read", Path: path, Err: errors.New("is a directory")}
		} else if fi.Mode().IsRegular() && fi.Size() > model.MaxSourceBytes {
			return nil, tooLarge(path, fi.Size())
		}
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, model.MaxSourceBytes+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	if len(data) > model.MaxSourceBytes {
		return nil, tooLarge(path, -1)
	}
	return data, nil
}

func tooLarge(path string, size int64) error {
	msg := fmt.Sprintf("definition is larger than the limit of %d bytes", model.MaxSourceBytes)
	if size >= 0 {
		msg = fmt.Sprintf("definition is %d bytes; the limit is %d", size, model.MaxSourceBytes)
	}
	return &model.ValidationError{Problems: []model.Problem{{File: path, Message: msg}}}
}

// parseDefinition parses BPMN XML (the process processID, or the only
// executable one) or workflow JSON, chosen by content.
func parseDefinition(name string, data []byte, processID string) (*model.Definition, error) {
	switch f := model.DetectFormat(data); f {
	case model.FormatBPMN:
		return bpmn.ParseOne(name, data, processID)
	case model.FormatDMN, model.FormatForm:
		return nil, &model.ValidationError{Problems: []model.Problem{{File: name, Message: "this is a " + f.Noun() + ", not a workflow"}}}
	}
	if processID != "" {
		return nil, usageErrorf("%s: --process applies to BPMN files only", name)
	}
	return model.ParseJSON(name, data)
}

// loadDefinition reads and parses one definition file.
func (m *Main) loadDefinition(path, processID string) (*model.Definition, error) {
	data, err := readSource(m.Stdin, path)
	if err != nil {
		return nil, err
	}
	return parseDefinition(path, data, processID)
}
