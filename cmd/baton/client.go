package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/model"
)

// The client commands talk to a running server (baton serve) over the
// REST API and print what it answers as JSON (tasks: a table). A problem
// answer becomes the error message and a non-zero exit status. Every call
// sends the bearer token of --token (default: BATON_TOKEN).

const defaultServer = "http://localhost:8080"

// apiClient sends requests to a Baton server through baton.Client, which
// retries a request that got no answer (or a 502, 503, 504) and sends
// every POST with an Idempotency-Key, the same on every attempt, so that a
// retried start or complete is done once.
type apiClient struct {
	base string
	c    *baton.Client
}

// conn is where a client command sends its requests: --server and
// --token.
type conn struct {
	server string
	token  string
}

// serverFlag adds --server and --token to fs.
func serverFlag(fs *flag.FlagSet, target *conn) {
	fs.StringVar(&target.server, "server", envOr("BATON_SERVER", defaultServer), "Baton server `URL`")
	fs.StringVar(&target.token, "token", envOr("BATON_TOKEN", ""), "API bearer `TOKEN` (default: $BATON_TOKEN; baton serve --dev prints demo tokens)")
}

func newAPIClient(c conn) (*apiClient, error) {
	u, err := url.Parse(c.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("--server %q is not an http(s) URL", c.server)
	}
	tok := strings.TrimSpace(c.token)
	if strings.ContainsAny(tok, " \t\r\n") {
		return nil, usageErrorf("--token must be one word (the token itself, without \"Bearer\")")
	}
	base := strings.TrimRight(c.server, "/")
	return &apiClient{base: base, c: baton.NewClient(base, baton.WithToken(tok),
		baton.WithHTTPClient(&http.Client{Timeout: time.Minute}))}, nil
}

// do sends a request and decodes a 2xx answer into out. Any other answer
// is returned as an error carrying the server's problem document.
func (c *apiClient) do(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	err := c.c.Do(ctx, method, path, contentType, body, out)
	var (
		p  *baton.Problem
		se *json.SyntaxError
		te *json.UnmarshalTypeError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &p):
		return problemError(p)
	case ctx.Err() != nil, errors.As(err, &se), errors.As(err, &te):
		return err
	}
	return &exitError{code: ExitFailed, err: fmt.Errorf("cannot reach the Baton server at %s: %w", c.base, err)}
}

func (c *apiClient) postJSON(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, path, "application/json", body, out)
}

// problemError turns an error answer into an exit error: 422 (an invalid
// definition or request) exits 3, anything else 1.
func problemError(p *baton.Problem) error {
	code := ExitFailed
	if p.Status == http.StatusUnprocessableEntity {
		code = ExitInvalid
	}
	if p.Status == http.StatusUnauthorized {
		p.Detail += " (pass a token with --token or BATON_TOKEN)"
	}
	return &exitError{code: code, err: p}
}

// printJSON writes v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func varsMap(entries []varFlagEntry) map[string]any {
	if len(entries) == 0 {
		return nil
	}
	m := make(map[string]any, len(entries))
	for _, e := range entries {
		m[e.key] = e.value
	}
	return m
}

// ---- deploy ----

type deployCommand struct {
	main *Main
	conn conn
	file string
}

func (c *deployCommand) ParseFlags(ctx context.Context, args []string) error {
	fs := c.main.newFlagSet("deploy", "FILE [--server URL] [--token TOKEN]", `
Deploy a workflow (workflow JSON or BPMN 2.0 XML; "-" reads standard input),
a decision table (DMN XML or JSON) or a form-js form (JSON; user tasks show
it by form key) to the server and print {id, version, created}. Deploying
needs an admin token. Deploying content that is already the latest version
changes nothing (created: false). An invalid workflow prints every problem
with its location and exits 3.`)
	serverFlag(fs, &c.conn)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("deploy needs exactly one FILE")
	}
	c.file = pos[0]
	return nil
}

func (c *deployCommand) Run(ctx context.Context) error {
	cl, err := newAPIClient(c.conn)
	if err != nil {
		return err
	}
	src, err := readSource(c.main.Stdin, c.file)
	if err != nil {
		return err
	}
	ct := "application/json"
	if model.IsXML(src) {
		ct = "application/xml"
	}
	name := "stdin"
	if c.file != "-" {
		name = filepath.Base(c.file)
	}
	var out baton.DeployResult
	if err := cl.do(ctx, http.MethodPost, "/api/definitions?name="+url.QueryEscape(name), ct, src, &out); err != nil {
		return err
	}
	return printJSON(c.main.Stdout, out)
}

// ---- start ----

type startCommand struct {
	main        *Main
	conn        conn
	definition  string
	version     int
	businessKey string
	key         string
	vars        []varFlagEntry
	varsFile    string
}

func (c *startCommand) ParseFlags(ctx context.Context, args []string) error {
	fs := c.main.newFlagSet("start", "DEFINITION [--var k=v]... [--vars vars.json] [--business-key K] [--version N] [--server URL] [--token TOKEN]", `
Start an instance of a deployed definition (its latest version unless
--version) and print the instance. --var values are JSON when they parse as
JSON (20000, true, {"a":1}), strings otherwise; --vars reads a JSON object
of variables, and --var overrides it.

The start is sent with an Idempotency-Key and sent again with the same key
when no answer comes, so it starts one instance however often it is sent.
--idempotency-key sets the key, for a script that may run the command
again: the server then answers every run with the first run's instance
(for 24 hours).`)
	serverFlag(fs, &c.conn)
	fs.Var((*varFlag)(&c.vars), "var", "set variable `key=value` (repeatable)")
	fs.StringVar(&c.varsFile, "vars", "", "read variables from a JSON object in `FILE`")
	fs.StringVar(&c.businessKey, "business-key", "", "the instance's business `KEY`")
	fs.IntVar(&c.version, "version", 0, "definition `VERSION` (default: the latest)")
	fs.StringVar(&c.key, "idempotency-key", "", "the start's Idempotency-Key `KEY` (default: a new one per command)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("start needs exactly one DEFINITION id")
	}
	c.definition = pos[0]
	return nil
}

func (c *startCommand) Run(ctx context.Context) error {
	cl, err := newAPIClient(c.conn)
	if err != nil {
		return err
	}
	vars, err := loadVars(c.main.Stdin, c.varsFile, c.vars)
	if err != nil {
		return err
	}
	var out baton.Instance
	req := baton.StartRequest{DefinitionID: c.definition, Version: c.version, BusinessKey: c.businessKey, Variables: vars}
	if c.key != "" {
		ctx = baton.WithIdempotencyKey(ctx, c.key)
	}
	if err := cl.postJSON(ctx, "/api/runtime/start", req, &out); err != nil {
		return err
	}
	return printJSON(c.main.Stdout, out)
}

// ---- tasks ----

type tasksCommand struct {
	main     *Main
	conn     conn
	assignee string
	group    string
	instance string
	all      bool
	jsonOut  bool
}

func (c *tasksCommand) ParseFlags(ctx context.Context, args []string) error {
	fs := c.main.newFlagSet("tasks", "[--assignee USER] [--group GROUP] [--instance ID] [--all] [--json] [--server URL] [--token TOKEN]", `
List open user tasks as a table (or JSON with --json): the ones the token's
user may work on (assigned to them, or offered to them or their groups;
an admin's: all of them), or every user's with --all (operators).`)
	serverFlag(fs, &c.conn)
	fs.StringVar(&c.assignee, "assignee", "", "only tasks assigned to `USER`")
	fs.StringVar(&c.group, "group", "", "only tasks with candidate group `GROUP`")
	fs.StringVar(&c.instance, "instance", "", "only tasks of instance `ID`")
	fs.BoolVar(&c.all, "all", false, "every user's tasks, not only yours (needs the operator role)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the task list as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("tasks takes no arguments (got %q)", pos[0])
	}
	return nil
}

func (c *tasksCommand) Run(ctx context.Context) error {
	cl, err := newAPIClient(c.conn)
	if err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range map[string]string{"assignee": c.assignee, "candidateGroup": c.group, "instanceId": c.instance} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if c.all {
		q.Set("all", "true")
	}
	path := "/api/runtime/tasks"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out baton.TaskList
	if err := cl.do(ctx, http.MethodGet, path, "", nil, &out); err != nil {
		return err
	}
	if c.jsonOut {
		return printJSON(c.main.Stdout, out)
	}
	if len(out.Tasks) == 0 {
		fmt.Fprintln(c.main.Stdout, "no open tasks")
		return nil
	}
	tw := tabwriter.NewWriter(c.main.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tNODE\tINSTANCE\tASSIGNEE\tGROUPS\tDUE")
	for _, t := range out.Tasks {
		due := "-"
		if t.DueAt != nil {
			due = t.DueAt.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, dash(t.Name), t.NodeID, t.InstanceID,
			dash(t.Assignee), dash(strings.Join(t.CandidateGroups, ",")), due)
	}
	if out.Next != "" {
		fmt.Fprintf(tw, "(more: the list continues after %s)\n", out.Next)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ---- complete ----

type completeCommand struct {
	main *Main
	conn conn
	task string
	vars []varFlagEntry
}

func (c *completeCommand) ParseFlags(ctx context.Context, args []string) error {
	fs := c.main.newFlagSet("complete", "TASK [--var k=v]... [--server URL] [--token TOKEN]", `
Complete an open user task with the given variables (the values of its
form) and print the instance. Only the task's assignee or, when it is
unassigned, a candidate may complete it. An invalid submission prints
every bad field and exits 3.`)
	serverFlag(fs, &c.conn)
	fs.Var((*varFlag)(&c.vars), "var", "set variable `key=value` (repeatable)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("complete needs exactly one TASK id")
	}
	c.task = pos[0]
	return nil
}

func (c *completeCommand) Run(ctx context.Context) error {
	cl, err := newAPIClient(c.conn)
	if err != nil {
		return err
	}
	var out baton.Instance
	if err := cl.postJSON(ctx, "/api/runtime/complete-task", baton.CompleteTaskRequest{TaskID: c.task, Variables: varsMap(c.vars)}, &out); err != nil {
		return err
	}
	return printJSON(c.main.Stdout, out)
}

// ---- instance ----

type instanceCommand struct {
	main *Main
	conn conn
	id   string
}

func (c *instanceCommand) ParseFlags(ctx context.Context, args []string) error {
	fs := c.main.newFlagSet("instance", "ID [--server URL] [--token TOKEN]", `
Print an instance: status, current nodes, variables (processData),
execution history and checkpoints.`)
	serverFlag(fs, &c.conn)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("instance needs exactly one instance ID")
	}
	c.id = pos[0]
	return nil
}

func (c *instanceCommand) Run(ctx context.Context) error {
	cl, err := newAPIClient(c.conn)
	if err != nil {
		return err
	}
	var out baton.Instance
	if err := cl.do(ctx, http.MethodGet, "/api/runtime/instance/"+url.PathEscape(c.id), "", nil, &out); err != nil {
		return err
	}
	return printJSON(c.main.Stdout, out)
}
