package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/form"
	"github.com/batonhq/baton/internal/model"
)

type runCommand struct {
	main *Main

	file          string
	process       string
	vars          []varFlagEntry
	varsFile      string
	jsonOut       bool
	simulate      bool
	deliverEvents bool
	interactive   bool

	lines <-chan string // standard input, line by line (--interactive)
	done  chan struct{} // closed by Close: stops the line reader
}

// Close stops the goroutine reading standard input, if any.
func (c *runCommand) Close() error {
	if c.done != nil {
		close(c.done)
		c.done = nil
	}
	return nil
}

func (c *runCommand) ParseFlags(ctx context.Context, args []string) error {
	fs := c.main.newFlagSet("run", "FILE [--var k=v]... [--vars vars.json] [--json] [--simulate [--deliver-events]] [--interactive] [--process ID]", `
Run the workflow in FILE in memory, without a database: start an instance,
run it to completion or until it waits for something this command cannot
answer, then print the trace (or one JSON object with --json).

Straight-through work (gateways, expressions, script tasks) runs. Timers,
messages and signals are reported as waiting. Service, send, business rule
tasks and call activities wait for a worker, which this command does not
have. User tasks wait too, unless --interactive: then each one asks for its
form fields on standard input, one key=value per line, an empty line ending
the task.

With --simulate every task completes at once with no output, no script runs,
and timers fire on a virtual clock; --deliver-events also triggers waiting
message, signal and conditional events.

--var values are JSON when they parse as JSON (20000, true, null, {"a":1},
"quoted"), strings otherwise (--var name=ann). --var overrides --vars.

Exit status: 0 completed or waiting, 1 error or incident, 2 usage error,
3 invalid definition, 4 I/O error.`)
	fs.Var((*varFlag)(&c.vars), "var", "set variable `key=value` (repeatable)")
	fs.StringVar(&c.varsFile, "vars", "", "read variables from a JSON object in `FILE`")
	fs.BoolVar(&c.jsonOut, "json", false, "print the result as one JSON object")
	fs.BoolVar(&c.simulate, "simulate", false, "token simulation: tasks complete at once, no scripts, virtual clock")
	fs.BoolVar(&c.deliverEvents, "deliver-events", false, "with --simulate: trigger waiting message, signal and conditional events")
	fs.BoolVar(&c.interactive, "interactive", false, "answer user tasks at the terminal (standard input)")
	fs.StringVar(&c.process, "process", "", "run this process `ID` of a BPMN file")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch len(pos) {
	case 0:
		return usageErrorf("run needs a FILE")
	case 1:
		c.file = pos[0]
	default:
		return usageErrorf("run takes one FILE, got %d: %s", len(pos), strings.Join(pos, " "))
	}
	switch {
	case c.deliverEvents && !c.simulate:
		return usageErrorf("--deliver-events needs --simulate")
	case c.interactive && c.simulate:
		return usageErrorf("--interactive and --simulate cannot be combined (a simulation completes user tasks by itself)")
	case c.interactive && c.file == "-":
		return usageErrorf("--interactive reads answers from standard input, so FILE cannot be \"-\"")
	}
	return nil
}

// runResult is what a run reports. --json prints it as is.
type runResult struct {
	Outcome   string                `json:"outcome"` // completed, waiting or error
	Completed []engine.Element      `json:"completed"`
	WaitingAt []string              `json:"waitingAt"`
	Waits     []waitInfo            `json:"waits,omitempty"`
	Variables map[string]any        `json:"variables"`
	Error     *engine.SimError      `json:"error,omitempty"`
	History   []engine.HistoryEntry `json:"history"`
}

// waitInfo says what one waiting node waits for.
type waitInfo struct {
	NodeID  string `json:"nodeId"`
	Type    string `json:"type"`
	Message string `json:"message"`

	incident bool // the node is stopped by an incident, not waiting
}

// Outcomes.
const (
	outcomeCompleted = "completed"
	outcomeWaiting   = "waiting"
	outcomeError     = "error"
)

func (c *runCommand) Run(ctx context.Context) error {
	data, err := readSource(c.main.Stdin, c.file)
	if err != nil {
		return err
	}
	def, err := parseDefinition(c.file, data, c.process)
	if err != nil {
		return err
	}
	vars, err := c.variables()
	if err != nil {
		return err
	}
	var res runResult
	if c.simulate {
		sim := engine.Simulate(def, vars, engine.SimOptions{DeliverEvents: c.deliverEvents, Called: calledIn(c.file, data)})
		res = runResult{
			Outcome:   sim.Outcome,
			Completed: sim.Completed,
			WaitingAt: sim.WaitingAt,
			Variables: sim.Variables,
			Error:     sim.Error,
			History:   sim.History,
		}
		if sim.State != nil && sim.Outcome == outcomeWaiting {
			res.Waits = describeWaits(def, sim.State)
		}
	} else {
		res, err = c.execute(ctx, def, vars)
		if err != nil {
			return err
		}
	}
	if res.Completed == nil {
		res.Completed = []engine.Element{}
	}
	if res.WaitingAt == nil {
		res.WaitingAt = []string{}
	}
	if res.Variables == nil {
		res.Variables = map[string]any{}
	}
	if res.History == nil {
		res.History = []engine.HistoryEntry{}
	}
	if c.jsonOut {
		err = c.printJSON(res)
	} else {
		err = c.printText(res)
	}
	if err != nil {
		return &exitError{code: ExitIO, err: fmt.Errorf("write: %w", err)}
	}
	if res.Outcome == outcomeError {
		return &exitError{code: ExitFailed}
	}
	return nil
}

// variables merges --vars and then --var.
func (c *runCommand) variables() (map[string]any, error) {
	return loadVars(c.main.Stdin, c.varsFile, c.vars)
}

// loadVars reads the JSON object in file ("" for none, "-" for stdin) and
// sets the --var entries over it.
func loadVars(stdin io.Reader, file string, entries []varFlagEntry) (map[string]any, error) {
	vars := map[string]any{}
	if file != "" {
		data, err := readSource(stdin, file)
		if err != nil {
			var ve *model.ValidationError
			if errors.As(err, &ve) {
				return nil, usageErrorf("--vars %s: file is larger than %d bytes", file, model.MaxSourceBytes)
			}
			return nil, err
		}
		var obj map[string]any
		if err := json.Unmarshal(data, &obj); err != nil {
			return nil, usageErrorf("--vars %s: want a JSON object of variables: %v", file, err)
		} else if obj == nil {
			return nil, usageErrorf("--vars %s: want a JSON object of variables, got null", file)
		}
		for k, v := range obj {
			vars[k] = v
		}
	}
	for _, kv := range entries {
		vars[kv.key] = kv.value
	}
	return vars, nil
}

// execute runs the instance with the real clock until it completes, fails
// or waits for something nobody here can give.
func (c *runCommand) execute(ctx context.Context, def *model.Definition, vars map[string]any) (runResult, error) {
	cmd := engine.Command{Kind: engine.CmdStart, Time: time.Now(), InstanceID: "run", Variables: vars, Actor: "cli"}
	st, effects, err := engine.Step(def, nil, cmd)
	if err != nil {
		return runResult{Outcome: outcomeError, Variables: vars, Error: &engine.SimError{Message: err.Error()}}, nil
	}
	tasks := map[string]*engine.TaskInfo{}
	note := func(effects []engine.Effect) {
		for _, e := range effects {
			if e.Kind == engine.EffTask && e.Task != nil {
				tasks[e.ID] = e.Task
			}
		}
	}
	note(effects)
	var stepErr error
	for c.interactive && !st.Status.Ended() && len(st.Incidents) == 0 {
		if err := ctx.Err(); err != nil {
			return runResult{}, err
		}
		tok := firstTask(st)
		if tok == nil {
			break
		}
		answers, ok, err := c.ask(ctx, def.Node(tok.Node), tasks[tok.Ref], st.Variables)
		if err != nil {
			return runResult{}, err
		}
		if !ok {
			break // standard input ended: leave the task waiting
		}
		cmd := engine.Command{Kind: engine.CmdCompleteTask, Time: time.Now(), Ref: tok.Ref, Variables: answers, Actor: "cli"}
		if st, effects, err = engine.Step(def, st, cmd); err != nil {
			stepErr = err
			break
		}
		note(effects)
	}
	return resultOf(def, st, stepErr), nil
}

// resultOf computes a run's result from the instance state, as Simulate
// does for a simulation.
func resultOf(def *model.Definition, st *engine.State, stepErr error) runResult {
	res := runResult{Variables: st.Variables, History: st.History}
	for _, h := range st.History {
		if h.Action == engine.ActCompleted && h.NodeID != "" {
			res.Completed = append(res.Completed, engine.Element{ID: h.NodeID, Type: engine.BPMNTypeName(h.NodeType)})
		}
	}
	switch {
	case stepErr != nil:
		res.Outcome = outcomeError
		res.Error = &engine.SimError{Message: stepErr.Error()}
	case st.Status.Ended():
		res.Outcome = outcomeCompleted
	case len(st.Incidents) > 0:
		inc := st.Incidents[0]
		res.Outcome = outcomeError
		res.Error = &engine.SimError{Message: inc.Message, NodeID: inc.NodeID}
	default:
		res.Outcome = outcomeWaiting
	}
	if res.Outcome != outcomeCompleted {
		res.Waits = describeWaits(def, st)
		for _, w := range res.Waits {
			if !w.incident && !contains(res.WaitingAt, w.NodeID) {
				res.WaitingAt = append(res.WaitingAt, w.NodeID)
			}
		}
	}
	return res
}

func firstTask(st *engine.State) *engine.Token {
	for i := range st.Tokens {
		if st.Tokens[i].Wait == engine.WaitTask {
			return &st.Tokens[i]
		}
	}
	return nil
}

// describeWaits says, for every token at a wait state, what it waits for.
// Joins and sub-process containers are not listed: they wait for other
// tokens, not for the outside world.
func describeWaits(def *model.Definition, st *engine.State) []waitInfo {
	var out []waitInfo
	add := func(n *model.Node, msg string) {
		out = append(out, waitInfo{NodeID: n.ID, Type: engine.BPMNTypeName(string(n.Type)), Message: msg})
	}
	for _, t := range st.Tokens {
		n := def.Node(t.Node)
		if n == nil {
			continue
		}
		switch t.Wait {
		case engine.WaitTask:
			msg := fmt.Sprintf("%s is waiting for a person to complete it", what(n))
			if len(n.CandidateGroups) > 0 {
				msg += " (candidate groups: " + strings.Join(n.CandidateGroups, ", ") + ")"
			} else if n.Assignee != "" {
				msg += " (assignee: " + n.Assignee + ")"
			}
			add(n, msg)
		case engine.WaitJob:
			add(n, fmt.Sprintf("%s is waiting for a worker of type %s", what(n), workerType(n)))
		case engine.WaitEvent:
			for _, sb := range st.Subs {
				if sb.Owner == t.ID && sb.Node == n.ID {
					add(n, fmt.Sprintf("%s is waiting for %s", what(n), subject(sb)))
				}
			}
		case engine.WaitGateway:
			for _, sb := range st.Subs {
				if sb.Owner != t.ID {
					continue
				}
				if m := def.Node(sb.Node); m != nil {
					add(m, fmt.Sprintf("%s is waiting for %s (after event-based gateway %s)", what(m), subject(sb), n.ID))
				}
			}
		case engine.WaitIncident:
			for _, inc := range st.Incidents {
				if inc.Token == t.ID {
					add(n, fmt.Sprintf("%s has an incident: %s", what(n), inc.Message))
					out[len(out)-1].incident = true
				}
			}
		}
	}
	return out
}

// what names a node for a person: "service task payout".
func what(n *model.Node) string {
	name := string(n.Type)
	var b strings.Builder
	for i, r := range name {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte(' ')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String() + " " + n.ID
}

// workerType is the job type a worker would subscribe to.
func workerType(n *model.Node) string {
	switch {
	case n.TaskType != "":
		return n.TaskType
	case n.Type == model.CallActivity:
		return "call (process " + n.CalledElement + ")"
	case n.Type == model.BusinessRuleTask:
		return "businessRule"
	case n.HTTP != nil:
		return "http"
	case n.Notify != nil:
		return "notify (" + n.Notify.Channel + ")"
	case n.Type == model.SendTask:
		return "send"
	case n.Event != nil && n.Event.Kind == model.EventMessage:
		return "message " + n.Event.Name
	}
	return "service"
}

// subject describes what a subscription waits for.
func subject(sb engine.Sub) string {
	switch sb.Kind {
	case engine.SubTimer:
		return "a timer due at " + sb.Due.Format(time.RFC3339)
	case engine.SubMessage:
		s := fmt.Sprintf("message %q", sb.Name)
		if sb.Key != "" {
			s += fmt.Sprintf(" with correlation key %q", sb.Key)
		}
		return s
	case engine.SubSignal:
		return fmt.Sprintf("signal %q", sb.Name)
	}
	return "its event"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ---- output ----

func (c *runCommand) printJSON(res runResult) error {
	enc := json.NewEncoder(c.main.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

func (c *runCommand) printText(res runResult) error {
	w := c.main.Stdout
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, h := range res.History {
		node, typ := h.NodeID, engine.BPMNTypeName(h.NodeType)
		if node == "" {
			node = "(instance)"
		}
		if typ == "" {
			typ = "-"
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s", h.Timestamp.Format("2006-01-02T15:04:05.000Z07:00"), node, typ, h.Action)
		if h.Result != nil {
			if b, err := json.Marshal(h.Result); err == nil {
				line += "\t" + string(b)
			}
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nOutcome: %s\n", res.Outcome)
	if res.Error != nil {
		if res.Error.NodeID != "" {
			fmt.Fprintf(w, "Incident at %q: %s\n", res.Error.NodeID, res.Error.Message)
		} else {
			fmt.Fprintf(w, "Error: %s\n", res.Error.Message)
		}
	}
	if len(res.WaitingAt) > 0 {
		fmt.Fprintf(w, "Waiting at: %s\n", strings.Join(res.WaitingAt, ", "))
		for _, wt := range res.Waits {
			if res.Error != nil && wt.NodeID == res.Error.NodeID {
				continue
			}
			fmt.Fprintf(w, "  %s\n", wt.Message)
		}
	}
	vars, err := json.MarshalIndent(res.Variables, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "Variables:\n%s\n", vars)
	return err
}

// ---- --var ----

type varFlagEntry struct {
	key   string
	value any
}

// varFlag collects repeated --var key=value flags.
type varFlag []varFlagEntry

func (v *varFlag) String() string {
	if v == nil {
		return ""
	}
	parts := make([]string, len(*v))
	for i, e := range *v {
		parts[i] = fmt.Sprintf("%s=%v", e.key, e.value)
	}
	return strings.Join(parts, " ")
}

func (v *varFlag) Set(s string) error {
	k, val, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	*v = append(*v, varFlagEntry{key: k, value: parseValue(val)})
	return nil
}

// parseValue reads a command-line or terminal value: JSON when it parses
// (numbers, true/false, null, objects, arrays, quoted strings), else the
// text itself.
func parseValue(s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err == nil {
		return v
	}
	return s
}

// ---- --interactive ----

// formField is one input of a user task form.
type formField struct {
	Key      string
	Type     string
	Label    string
	Required bool
}

// formFields reads the inputs of a form: a bpmn.io form-js schema
// ({"components": [...]}, nested groups included) or a plain
// {"fields": [...]} list.
func formFields(raw json.RawMessage) []formField {
	if len(raw) == 0 {
		return nil
	}
	type component struct {
		Key        string `json:"key"`
		Type       string `json:"type"`
		Label      string `json:"label"`
		Required   bool   `json:"required"`
		Validate   struct{ Required bool }
		Components []component `json:"components"`
		Fields     []component `json:"fields"`
	}
	var root component
	if json.Unmarshal(raw, &root) != nil {
		return nil
	}
	var out []formField
	var walk func([]component)
	walk = func(cs []component) {
		for _, c := range cs {
			if c.Key != "" && c.Type != "button" && c.Type != "text" {
				out = append(out, formField{Key: c.Key, Type: c.Type, Label: c.Label, Required: c.Required || c.Validate.Required})
			}
			walk(c.Components)
			walk(c.Fields)
		}
	}
	walk(root.Components)
	walk(root.Fields)
	return out
}

// ask shows a user task at the terminal and reads its answers, one
// key=value per line until an empty line. The answers are checked against
// the task's form as the server checks a submission (form.Validate: a
// required checkbox must be ticked, unknown keys are refused), so a form
// means the same at the terminal and in the API. ok is false when
// standard input ended before the task could be completed.
func (c *runCommand) ask(ctx context.Context, n *model.Node, info *engine.TaskInfo, current map[string]any) (answers map[string]any, ok bool, err error) {
	w := c.main.Stderr
	name := n.Name
	if info != nil && info.Name != "" {
		name = info.Name
	}
	fmt.Fprintf(w, "\nUser task %q", n.ID)
	if name != "" && name != n.ID {
		fmt.Fprintf(w, " (%s)", name)
	}
	fmt.Fprintln(w)
	if info != nil {
		if info.Assignee != "" {
			fmt.Fprintf(w, "  assignee: %s\n", info.Assignee)
		}
		if len(info.CandidateGroups) > 0 {
			fmt.Fprintf(w, "  candidate groups: %s\n", strings.Join(info.CandidateGroups, ", "))
		}
		if len(info.CandidateUsers) > 0 {
			fmt.Fprintf(w, "  candidate users: %s\n", strings.Join(info.CandidateUsers, ", "))
		}
	}
	fields := formFields(n.Form)
	byKey := map[string]formField{}
	if len(fields) > 0 {
		fmt.Fprintln(w, "  form:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, f := range fields {
			req := ""
			switch {
			case f.Required && f.Type == "checkbox":
				req = "required: must be true"
			case f.Required:
				req = "required"
			}
			fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\n", f.Key, f.Type, f.Label, req)
			byKey[f.Key] = f
		}
		tw.Flush()
	}
	// The server's check of a submission; a form it would refuse to
	// deploy is only shown, and its required fields asked for.
	parsed, _ := form.Parse(n.Form)
	check := func() []string {
		if len(n.Form) == 0 || parsed == nil {
			return prefixAll("required: ", missing(fields, answers))
		}
		var out []string
		for _, e := range parsed.Validate(answers, current) {
			out = append(out, e.Error())
		}
		return out
	}
	fmt.Fprintln(w, "Enter variables as key=value, one per line (key= clears one); an empty line completes the task.")
	if c.lines == nil {
		c.done = make(chan struct{})
		c.lines = readLines(c.main.Stdin, c.done)
	}
	answers = map[string]any{}
	entered := false
	for {
		fmt.Fprint(w, "> ")
		var line string
		var more bool
		select {
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case line, more = <-c.lines:
		}
		if !more {
			fmt.Fprintln(w)
			if !entered || len(check()) > 0 {
				return nil, false, nil
			}
			return answers, true, nil
		}
		line = strings.TrimSpace(line)
		if line == "" {
			if problems := check(); len(problems) > 0 {
				for _, p := range problems {
					fmt.Fprintln(w, p)
				}
				continue
			}
			return answers, true, nil
		}
		k, raw, found := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !found || k == "" {
			fmt.Fprintf(w, "want key=value, got %q\n", line)
			continue
		}
		if strings.TrimSpace(raw) == "" {
			delete(answers, k)
			continue
		}
		v, err := fieldValue(byKey[k], strings.TrimSpace(raw))
		if err != nil {
			fmt.Fprintf(w, "%s: %v\n", k, err)
			continue
		}
		answers[k] = v
		entered = true
	}
}

// fieldValue converts an answer by its form field type.
func fieldValue(f formField, raw string) (any, error) {
	switch f.Type {
	case "checkbox":
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return nil, fmt.Errorf("want true or false, got %q", raw)
		}
		return b, nil
	case "number":
		x, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return nil, fmt.Errorf("want a number, got %q", raw)
		}
		return x, nil
	case "textfield", "textarea", "datetime", "radio", "select":
		return raw, nil
	}
	return parseValue(raw), nil
}

func missing(fields []formField, answers map[string]any) []string {
	var out []string
	for _, f := range fields {
		if _, ok := answers[f.Key]; f.Required && !ok {
			out = append(out, f.Key)
		}
	}
	sort.Strings(out)
	return out
}

func prefixAll(prefix string, list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = prefix + s
	}
	return out
}

// readLines delivers r's lines on a channel, closed at the end of input.
// Reading in a goroutine lets a prompt give up when ctx is cancelled
// (Ctrl-C) instead of blocking on the terminal.
func readLines(r io.Reader, done <-chan struct{}) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			select {
			case ch <- sc.Text():
			case <-done:
				return
			}
		}
	}()
	return ch
}
