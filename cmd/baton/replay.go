package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/replay"
)

// maxRecordBytes bounds a record file read by replay.
const maxRecordBytes = 256 << 20

// replayCommand re-runs a recorded instance offline.
type replayCommand struct {
	main       *Main
	conn       conn
	fromServer bool // --server given: the argument is an instance id
	arg        string
	save       string
	definition string
	process    string
	jsonOut    bool
}

func (c *replayCommand) ParseFlags(ctx context.Context, args []string) error {
	fs := c.main.newFlagSet("replay", "INSTANCE_ID [--server URL] [--token TOKEN] | RECORD.json [--definition FILE] [--save FILE] [--json]", `
Re-run a recorded instance offline and report any divergence. The record
(GET /api/runtime/instance/{id}/record) holds the definition, every
command applied to the instance (start variables, job and task outputs, LLM
decisions, timers, messages, operator actions), the history and the last
checkpoint. replay feeds the commands to the engine again and compares each
transition's history and the final state with the recording. Nothing is
called and no LLM provider is asked: every answer comes from the record, so
a process that uses a model can be tested in CI without one.

The argument is a record file (a path, *.json, or "-" for standard input)
or, with --server (or when it is no file), an instance id whose record is
fetched from the server; --save keeps the fetched record in a file.

--definition replays against a changed workflow (BPMN or workflow JSON)
instead: the recorded answers go to its jobs, tasks, timers and messages by
node id and occurrence, and the report says where the path differs, where
the replay waits for an answer the recording does not have, and how the
variables end up.

Exit status: 0 identical, 1 divergence, 2 usage or input error (a record
or definition that does not parse, a server that cannot be reached).`)
	serverFlag(fs, &c.conn)
	fs.StringVar(&c.save, "save", "", "write the record to `FILE` (indented JSON)")
	fs.StringVar(&c.definition, "definition", "", "replay against this changed workflow `FILE` (BPMN or JSON) instead of the recorded one")
	fs.StringVar(&c.process, "process", "", "the process `ID` of a --definition BPMN file with several")
	fs.BoolVar(&c.jsonOut, "json", false, "print the report as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("replay needs exactly one INSTANCE_ID or RECORD file")
	}
	c.arg = pos[0]
	fs.Visit(func(f *flag.Flag) { c.fromServer = c.fromServer || f.Name == "server" })
	if c.process != "" && c.definition == "" {
		return usageErrorf("--process applies to --definition only")
	}
	return nil
}

// isFile tells a record file from an instance id: "-", a path, a *.json
// name or an existing file — unless --server says it is an instance.
func (c *replayCommand) isFile() bool {
	if c.fromServer {
		return false
	}
	if c.arg == "-" || strings.ContainsAny(c.arg, `/\`) || strings.HasSuffix(strings.ToLower(c.arg), ".json") {
		return true
	}
	fi, err := os.Stat(c.arg)
	return err == nil && !fi.IsDir()
}

func (c *replayCommand) Run(ctx context.Context) error {
	var data []byte
	var err error
	source := c.arg
	if c.isFile() {
		if data, err = c.readRecord(); err != nil {
			return c.inputError(err)
		}
	} else {
		source = "instance " + c.arg
		if data, err = c.fetch(ctx); err != nil {
			return c.inputError(err)
		}
	}
	if c.save != "" {
		var out bytes.Buffer
		if json.Indent(&out, data, "", "  ") != nil {
			out.Reset()
			out.Write(data)
		}
		out.WriteByte('\n')
		if err := os.WriteFile(c.save, out.Bytes(), 0o644); err != nil {
			return c.inputError(fmt.Errorf("save the record: %w", err))
		}
	}
	rec, err := replay.Decode(data)
	if err != nil {
		return c.inputError(fmt.Errorf("%s: %w", source, err))
	}
	def, err := recordedDefinition(rec)
	if err != nil {
		return c.inputError(fmt.Errorf("%s: %w", source, err))
	}
	var opts replay.Options
	if c.definition != "" {
		if opts.Definition, err = c.main.loadDefinition(c.definition, c.process); err != nil {
			return c.inputError(fmt.Errorf("--definition: %w", err))
		}
	}
	rep, err := replay.Replay(def, rec, opts)
	if err != nil {
		return c.inputError(fmt.Errorf("%s: %w", source, err))
	}
	if c.definition != "" {
		rep.Against += " from " + c.definition
	}
	if c.jsonOut {
		if err := printJSON(c.main.Stdout, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprint(c.main.Stdout, rep.Text())
	}
	if !rep.Identical {
		return &exitError{code: ExitFailed} // the report says why
	}
	return nil
}

// inputError reports err and exits 2: the record, the definition or the
// server could not be used, so nothing was compared.
func (c *replayCommand) inputError(err error) error {
	var ee *exitError
	if errors.As(err, &ee) && ee.err == nil {
		return &exitError{code: ExitUsage}
	}
	fmt.Fprintf(c.main.Stderr, "baton replay: %v\n", err)
	return &exitError{code: ExitUsage}
}

func (c *replayCommand) readRecord() ([]byte, error) {
	var r io.Reader = c.main.Stdin
	if c.arg != "-" {
		f, err := os.Open(c.arg)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if fi, err := f.Stat(); err != nil {
			return nil, err
		} else if fi.IsDir() {
			return nil, fmt.Errorf("%s is a directory, not a record file", c.arg)
		}
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxRecordBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c.arg, err)
	}
	if len(data) > maxRecordBytes {
		return nil, fmt.Errorf("%s is larger than %d MiB", c.arg, maxRecordBytes>>20)
	}
	return data, nil
}

func (c *replayCommand) fetch(ctx context.Context) ([]byte, error) {
	cl, err := newAPIClient(c.conn)
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	if err := cl.do(ctx, http.MethodGet, "/api/runtime/instance/"+url.PathEscape(c.arg)+"/record", "", nil, &raw); err != nil {
		return nil, fmt.Errorf("fetch the record of instance %s: %w", c.arg, err)
	}
	return raw, nil
}

// recordedDefinition compiles the definition a record holds, as the server
// did when the instance ran (BPMN: its process with the definition's id).
func recordedDefinition(rec *replay.Record) (*model.Definition, error) {
	src := []byte(rec.Definition.Source)
	name := fmt.Sprintf("the recorded definition %s v%d", rec.Definition.ID, rec.Definition.Version)
	pid := ""
	if model.IsXML(src) {
		pid = rec.Definition.ID
	}
	d, err := parseDefinition(name, src, pid)
	if err != nil {
		return nil, err
	}
	if d.ID != rec.Definition.ID {
		return nil, fmt.Errorf("%s: the source defines %q", name, d.ID)
	}
	d.Version = rec.Definition.Version
	return d, nil
}
