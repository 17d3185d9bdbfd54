// Package replay re-runs a recorded instance offline and reports where the
// re-run departs from the recording.
//
// A Record (GET /api/runtime/instance/{id}/record) holds everything needed:
// the definition source, every command the runner applied to the instance
// (an engine.Command as given to engine.Step, with its time, start
// variables, job and task outputs, LLM decisions, timers, messages and
// operator actions), the history, the recorded LLM calls and the final
// checkpoint. Replay feeds the commands to engine.Step again — on the
// recorded definition, to check that the engine still does what it did,
// or on a changed one, to see what the change would have done to this
// instance. Answers (job and task outputs, LLM decisions) always come from
// the recording: nothing is called, no provider is asked.
//
// The package is pure: it depends on engine and model only, reads no
// clock and does no I/O.
package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/engine"
)

// Format names the version of the record document.
const Format = "baton.record/1"

// Record is one instance as recorded: the definition it ran, its
// commands, its history, its LLM decisions and its last checkpoint. The
// commands, history and checkpoint are one consistent snapshot: nothing
// committed after the checkpoint is included.
type Record struct {
	Format      string           `json:"format" doc:"Version of the record document: baton.record/1."`
	InstanceID  string           `json:"instanceId"`
	BusinessKey string           `json:"businessKey,omitempty"`
	Definition  RecordDefinition `json:"definition" doc:"The definition version the instance ran, with its source."`
	Commands    []RecordCommand  `json:"commands" doc:"Every command applied to the instance, in order: one per checkpoint."`
	History     []RecordEntry    `json:"history" doc:"The execution history, oldest first."`
	Decisions   []RecordDecision `json:"decisions" doc:"The recorded LLM calls of the instance."`
	Final       RecordFinal      `json:"final" doc:"The instance's last checkpoint."`
}

// RecordDefinition is the definition version an instance ran.
type RecordDefinition struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	Name    string `json:"name,omitempty"`
	Format  string `json:"format" doc:"json (workflow JSON) or bpmn (BPMN 2.0 XML)."`
	Hash    string `json:"hash,omitempty" doc:"Hex SHA-256 of the source."`
	Source  string `json:"source" doc:"The definition as deployed, verbatim."`
}

// RecordCommand is one command applied to the instance.
type RecordCommand struct {
	Seq       int64     `json:"seq" doc:"The instance version the command's transition committed (the checkpoint of its history entries)."`
	CreatedAt time.Time `json:"createdAt"`
	// Command is the engine.Command as stored.
	Command json.RawMessage `json:"command" doc:"The command as given to the engine: kind, time, ref, variables, actor..."`
}

// RecordEntry is one history entry.
type RecordEntry struct {
	Seq        int64           `json:"seq"`
	Checkpoint int64           `json:"checkpoint" doc:"Seq of the command whose transition wrote the entry."`
	NodeID     string          `json:"nodeId"`
	NodeType   string          `json:"nodeType,omitempty"`
	Action     string          `json:"action"`
	Timestamp  time.Time       `json:"timestamp"`
	Result     json.RawMessage `json:"result,omitempty"`
	Actor      string          `json:"actor,omitempty"`
}

// RecordDecision is one recorded LLM call.
type RecordDecision struct {
	ID           string          `json:"id"`
	NodeID       string          `json:"nodeId"`
	JobID        string          `json:"jobId,omitempty"`
	Provider     string          `json:"provider"`
	Model        string          `json:"model,omitempty"`
	Decision     json.RawMessage `json:"decision,omitempty"`
	InputTokens  int             `json:"inputTokens"`
	OutputTokens int             `json:"outputTokens"`
	LatencyMS    int64           `json:"latencyMs"`
	CostMicros   int64           `json:"costMicroDollars"`
	CreatedAt    time.Time       `json:"createdAt"`
	Request      json.RawMessage `json:"request,omitempty"`
	Response     string          `json:"response,omitempty"`
}

// RecordFinal is the instance's last checkpoint.
type RecordFinal struct {
	Status    string    `json:"status"`
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updatedAt"`
	// State is the engine.State snapshot as stored.
	State json.RawMessage `json:"state" doc:"The engine state snapshot: status, variables, tokens, subscriptions, incidents."`
}

// InputError is a record that cannot be replayed: malformed, of another
// format, or incomplete. Where names the place ("commands[3].command",
// "line 12, column 4").
type InputError struct {
	Where string
	Err   error
}

func (e *InputError) Error() string {
	if e.Where == "" {
		return "record: " + e.Err.Error()
	}
	return "record: " + e.Where + ": " + e.Err.Error()
}

func (e *InputError) Unwrap() error { return e.Err }

func inputErr(where, format string, args ...any) error {
	return &InputError{Where: where, Err: fmt.Errorf(format, args...)}
}

// Decode parses and checks a record document. Errors are *InputError
// naming the place: a line and column for malformed JSON, a field path for
// a value that does not fit.
func Decode(data []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, jsonError(data, err)
	}
	if _, err := r.decode(); err != nil {
		return nil, err
	}
	return &r, nil
}

// jsonError locates a JSON decoding error in data.
func jsonError(data []byte, err error) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return inputErr("", "the document is empty")
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		off := syn.Offset
		if off >= int64(len(data)) {
			off = int64(len(data)) + 1 // the end of the document
		}
		return &InputError{Where: position(data, off), Err: fmt.Errorf("malformed JSON: %v", syn)}
	case errors.As(err, &typ):
		where := position(data, typ.Offset)
		if typ.Field != "" {
			where += " (" + typ.Field + ")"
		}
		return &InputError{Where: where, Err: fmt.Errorf("a JSON %s where %s is expected", typ.Value, typ.Type)}
	}
	return &InputError{Err: err}
}

// within places an error of an embedded document inside the record:
// "commands[3].command (line 1, column 9)".
func within(where string, err error) error {
	var ie *InputError
	if errors.As(err, &ie) {
		if ie.Where != "" {
			where += " (" + ie.Where + ")"
		}
		return &InputError{Where: where, Err: ie.Err}
	}
	return &InputError{Where: where, Err: err}
}

// subError locates an error decoding an embedded document (a command,
// the state) of type t by its field path: "commands[3].command.time".
func subError(where string, data []byte, t reflect.Type, err error) error {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		if typ.Field != "" {
			where += "." + typ.Field
		}
		return &InputError{Where: where, Err: fmt.Errorf("a JSON %s where %s is expected", typ.Value, typ.Type)}
	}
	// A value's own decoder failed (a time, say): find its field.
	if field := badField(data, t); field != "" {
		where += "." + field
	}
	return &InputError{Where: where, Err: err}
}

// position turns the offset encoding/json reports (the bytes read up to
// and including the offending one) into "line L, column C" of that byte.
func position(data []byte, off int64) string {
	off--
	if off < 0 {
		off = 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := int(off) - bytes.LastIndexByte(data[:off], '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

// badField finds the field of a JSON object that does not decode into
// the struct type t (whose own UnmarshalJSON errors, such as a time's,
// name no field). It returns "" when it cannot tell.
func badField(data []byte, t reflect.Type) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return ""
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		raw, ok := obj[name]
		if !ok {
			continue
		}
		if json.Unmarshal(raw, reflect.New(f.Type).Interface()) != nil {
			return name
		}
	}
	return ""
}

// decoded is a record's commands and checkpoint as engine values.
type decoded struct {
	// cmds are every command in order; seq[i] is the seq of the
	// transition that applied cmds[i]; groups lists the commands of each
	// transition (usually one).
	cmds   []engine.Command
	seq    []int64
	groups [][]int
	final  *engine.State
}

// decode checks the record and decodes its commands and final state.
func (r *Record) decode() (*decoded, error) {
	if r.Format == "" {
		return nil, inputErr("format", "missing: this is not a Baton instance record (GET /api/runtime/instance/{id}/record makes one)")
	}
	if r.Format != Format {
		return nil, inputErr("format", "%q is not a record format this baton reads (want %q)", r.Format, Format)
	}
	if r.InstanceID == "" {
		return nil, inputErr("instanceId", "missing")
	}
	if r.Definition.ID == "" {
		return nil, inputErr("definition.id", "missing")
	}
	if len(bytes.TrimSpace([]byte(r.Definition.Source))) == 0 {
		return nil, inputErr("definition.source", "missing: the record holds no definition to replay on")
	}
	if len(r.Commands) == 0 {
		return nil, inputErr("commands", "none: instance %s has no recorded commands (it ran before Baton recorded them), so it cannot be replayed", r.InstanceID)
	}
	d := &decoded{}
	for i, c := range r.Commands {
		where := fmt.Sprintf("commands[%d]", i)
		raw := bytes.TrimSpace(c.Command)
		if len(raw) == 0 || string(raw) == "null" {
			return nil, inputErr(where+".command", "missing")
		}
		// A transition that applied several commands (jobs the runner ran
		// inside it) records them as an array, in order.
		docs := []json.RawMessage{raw}
		if raw[0] == '[' {
			docs = nil
			if err := json.Unmarshal(raw, &docs); err != nil {
				return nil, within(where+".command", jsonError(raw, err))
			}
			if len(docs) == 0 {
				return nil, inputErr(where+".command", "an empty list of commands")
			}
		}
		switch {
		case i == 0 && c.Seq != 1:
			return nil, inputErr(where+".seq", "the first command has seq %d, want 1: the instance started before Baton recorded its commands, so it cannot be replayed", c.Seq)
		case i > 0 && c.Seq != r.Commands[i-1].Seq+1:
			return nil, inputErr(where+".seq", "seq %d follows %d: the commands between them are missing", c.Seq, r.Commands[i-1].Seq)
		}
		group := make([]int, 0, len(docs))
		for j, doc := range docs {
			at := where + ".command"
			if raw[0] == '[' {
				at = fmt.Sprintf("%s[%d]", at, j)
			}
			var cmd engine.Command
			if err := json.Unmarshal(doc, &cmd); err != nil {
				return nil, subError(at, doc, reflect.TypeFor[engine.Command](), err)
			}
			if cmd.Kind == "" {
				return nil, inputErr(at+".kind", "missing")
			}
			if cmd.Time.IsZero() {
				return nil, inputErr(at+".time", "missing: every recorded command carries its time")
			}
			first := len(d.cmds) == 0
			switch {
			case first && cmd.Kind != engine.CmdStart:
				return nil, inputErr(at, "the first command is %q, not the start: the instance started before Baton recorded its commands, so it cannot be replayed", cmd.Kind)
			case !first && cmd.Kind == engine.CmdStart:
				return nil, inputErr(at, "a second start command (seq %d)", c.Seq)
			}
			group = append(group, len(d.cmds))
			d.cmds = append(d.cmds, cmd)
			d.seq = append(d.seq, c.Seq)
		}
		d.groups = append(d.groups, group)
	}
	if last := r.Commands[len(r.Commands)-1].Seq; r.Final.Version != 0 && r.Final.Version != last {
		return nil, inputErr("final.version", "the checkpoint is version %d but the last command has seq %d", r.Final.Version, last)
	}
	for i, h := range r.History {
		if len(h.Result) > 0 && !json.Valid(h.Result) {
			return nil, inputErr(fmt.Sprintf("history[%d].result", i), "not valid JSON")
		}
	}
	if len(bytes.TrimSpace(r.Final.State)) == 0 || string(bytes.TrimSpace(r.Final.State)) == "null" {
		return nil, inputErr("final.state", "missing")
	}
	d.final = new(engine.State)
	if err := json.Unmarshal(r.Final.State, d.final); err != nil {
		return nil, subError("final.state", r.Final.State, reflect.TypeFor[engine.State](), err)
	}
	return d, nil
}
