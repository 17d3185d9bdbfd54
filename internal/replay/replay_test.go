package replay

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
)

// recording runs a definition the way the runner does — every command
// stepped, its history numbered and checkpointed, the state passed through
// JSON between transitions — and keeps what a record holds.
type recording struct {
	t    testing.TB
	def  *model.Definition
	src  string
	st   *engine.State
	rec  Record
	now  time.Time
	hseq int64
}

func parse(t *testing.T, src string) *model.Definition {
	t.Helper()
	d, err := model.ParseJSON("test.json", []byte(src))
	if err != nil {
		t.Fatalf("ParseJSON() = %v", err)
	}
	return d
}

func record(t *testing.T, src string, vars map[string]any) *recording {
	t.Helper()
	r := &recording{t: t, def: parse(t, src), src: src, now: time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.UTC)}
	r.do(engine.Command{Kind: engine.CmdStart, InstanceID: "inst", BusinessKey: "bk", Variables: vars, Actor: "ann"})
	return r
}

// do applies cmd one second after the previous command.
func (r *recording) do(cmd engine.Command) {
	r.t.Helper()
	r.now = r.now.Add(time.Second)
	cmd.Time = r.now
	if cmd.Actor == "" {
		cmd.Actor = "worker"
	}
	next, _, err := engine.Step(r.def, r.st, cmd)
	if err != nil {
		r.t.Fatalf("Step(%s %s) = %v", cmd.Kind, cmd.Ref, err)
	}
	b, err := json.Marshal(cmd)
	if err != nil {
		r.t.Fatal(err)
	}
	r.commit(b, next)
}

// commit records one transition: its command(s) as JSON, the history the
// steps appended to st, and st (round-tripped through JSON, as a store
// keeps it) as the new checkpoint.
func (r *recording) commit(cmds []byte, st *engine.State) {
	r.t.Helper()
	seq := int64(len(r.rec.Commands) + 1)
	r.rec.Commands = append(r.rec.Commands, RecordCommand{Seq: seq, CreatedAt: r.now, Command: cmds})
	for _, h := range st.History {
		var res []byte
		if h.Result != nil {
			res, _ = json.Marshal(h.Result)
		}
		r.hseq++
		r.rec.History = append(r.rec.History, RecordEntry{Seq: r.hseq, Checkpoint: seq, NodeID: h.NodeID, NodeType: h.NodeType,
			Action: string(h.Action), Timestamp: h.Timestamp, Result: res, Actor: h.Actor})
	}
	st.History = nil
	b, _ := json.Marshal(st)
	r.st = new(engine.State)
	if err := json.Unmarshal(b, r.st); err != nil {
		r.t.Fatal(err)
	}
}

// doInline applies cmd and then, in the same transition (as the runner
// does with jobs it runs inline), the commands more returns for the state
// reached so far; the transition's commands are recorded as one list.
func (r *recording) doInline(cmd engine.Command, more ...func(st *engine.State) engine.Command) {
	r.t.Helper()
	r.now = r.now.Add(time.Second)
	cmds := []engine.Command{cmd}
	st := r.st
	for i := 0; i <= len(more); i++ {
		c := cmds[i]
		c.Time = r.now
		if c.Actor == "" {
			c.Actor = "worker"
		}
		cmds[i] = c
		next, _, err := engine.Step(r.def, st, c)
		if err != nil {
			r.t.Fatalf("Step(%s %s) = %v", c.Kind, c.Ref, err)
		}
		st = next
		if i < len(more) {
			cmds = append(cmds, more[i](st))
		}
	}
	b, _ := json.Marshal(cmds)
	r.commit(b, st)
}

// ref returns what the token at node waits for: its job or task, or the
// subscription of its catch event.
func (r *recording) ref(node string) string {
	r.t.Helper()
	for _, t := range r.st.Tokens {
		if t.Node != node {
			continue
		}
		if t.Ref != "" {
			return t.Ref
		}
		for _, sb := range r.st.Subs {
			if sb.Owner == t.ID {
				return sb.ID
			}
		}
	}
	for _, sb := range r.st.Subs {
		if sb.Node == node {
			return sb.ID
		}
	}
	r.t.Fatalf("nothing waits at %s; tokens %+v", node, r.st.Tokens)
	return ""
}

func (r *recording) record() *Record {
	r.t.Helper()
	out := r.rec
	out.Format = Format
	out.InstanceID = r.st.InstanceID
	out.Definition = RecordDefinition{ID: r.def.ID, Version: r.def.Version, Format: "json", Source: r.src}
	state, _ := json.Marshal(r.st)
	out.Final = RecordFinal{Status: string(r.st.Status), Version: int64(len(out.Commands)), UpdatedAt: r.now, State: state}
	// Through JSON, as the API serves it and a file keeps it.
	b, err := json.Marshal(out)
	if err != nil {
		r.t.Fatal(err)
	}
	dec, err := Decode(b)
	if err != nil {
		r.t.Fatalf("Decode(recorded) = %v", err)
	}
	return dec
}

func replay(t *testing.T, def *model.Definition, rec *Record, changed *model.Definition) Report {
	t.Helper()
	rep, err := Replay(def, rec, Options{Definition: changed})
	if err != nil {
		t.Fatalf("Replay() = %v", err)
	}
	t.Logf("report:\n%s", rep.Text())
	return rep
}

func wantIdentical(t *testing.T, rep Report) {
	t.Helper()
	if !rep.Identical || len(rep.Divergences) != 0 {
		t.Fatalf("replay diverged, want identical:\n%s", rep.Text())
	}
	if rep.Applied != rep.Commands {
		t.Errorf("applied %d of %d commands", rep.Applied, rep.Commands)
	}
}

// find returns the first divergence of kind whose message contains text.
func find(t *testing.T, rep Report, kind, text string) Divergence {
	t.Helper()
	for _, d := range rep.Divergences {
		if d.Kind == kind && strings.Contains(d.Message, text) {
			return d
		}
	}
	t.Fatalf("no %s divergence mentioning %q in:\n%s", kind, text, rep.Text())
	return Divergence{}
}

const loan = `{"id":"loan","version":1,"nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"route","type":"exclusiveGateway","default":"f_auto"},
 {"id":"review","type":"userTask","candidateGroups":["managers"]},
 {"id":"payout","type":"serviceTask","taskType":"pay"},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"route"},
  {"id":"f_review","source":"route","target":"review","condition":"amount > 10000"},
  {"id":"f_auto","source":"route","target":"payout"},
  {"id":"f2","source":"review","target":"payout"},
  {"id":"f3","source":"payout","target":"end"}]}`

// largeLoan records a large loan: reviewed by a person, then paid out.
func largeLoan(t *testing.T) *recording {
	r := record(t, loan, map[string]any{"amount": 20000, "applicant": map[string]any{"name": "Ada", "tags": []any{"a", 1}}})
	r.do(engine.Command{Kind: engine.CmdCompleteTask, Ref: r.ref("review"), Variables: map[string]any{"approved": true}, Actor: "bob"})
	r.do(engine.Command{Kind: engine.CmdCompleteJob, Ref: r.ref("payout"), Variables: map[string]any{"paid": 20000, "receipt": "r-1"}})
	if r.st.Status != engine.StatusCompleted {
		t.Fatalf("recording ended %s", r.st.Status)
	}
	return r
}

func TestSameDefinitionIsIdentical(t *testing.T) {
	r := largeLoan(t)
	rep := replay(t, r.def, r.record(), nil)
	wantIdentical(t, rep)
	if rep.ReplayedStatus != "COMPLETED" || rep.HistoryEntries != len(r.rec.History) || rep.Against != "" {
		t.Errorf("report = %+v", rep)
	}
	if !strings.Contains(rep.Text(), "identical: 3 commands applied") {
		t.Errorf("text:\n%s", rep.Text())
	}
}

// TestSameDefinitionDetectsDivergence: the engine (here: a definition
// that changed under the same id and version) routes differently than it
// did; the report names the command, the node and both entries, then
// stops at the first command that no longer applies.
func TestSameDefinitionDetectsDivergence(t *testing.T) {
	r := largeLoan(t)
	other := parse(t, strings.Replace(loan, "amount > 10000", "amount > 50000", 1))
	rep := replay(t, other, r.record(), nil)
	if rep.Identical {
		t.Fatal("identical, want a divergence")
	}
	first := rep.Divergences[0]
	if first.Kind != KindHistory || first.Command != 1 || first.Seq != 1 || first.NodeID != "review" ||
		first.Expected != "review waiting" || first.Got != "payout waiting" {
		t.Errorf("first divergence = %+v, want command 1 at review: review waiting vs payout waiting", first)
	}
	rej := find(t, rep, KindRejected, "command 2 (completeTask inst-2)")
	if rej.Command != 2 || !strings.Contains(rej.Message, "nothing waits") {
		t.Errorf("rejection = %+v", rej)
	}
	if rep.Applied != 1 {
		t.Errorf("applied %d, want 1 (the replay stops at the refused command)", rep.Applied)
	}
	find(t, rep, KindStatus, "final status")
	if !strings.Contains(rep.Text(), "DIVERGED") || !strings.Contains(rep.Text(), "recorded: review waiting") {
		t.Errorf("text:\n%s", rep.Text())
	}
}

func TestTamperedRecordDiverges(t *testing.T) {
	r := largeLoan(t)
	rec := r.record()
	// The recorded outcome of the review says something else.
	for i, h := range rec.History {
		if h.NodeID == "payout" && h.Action == "completed" {
			rec.History[i].Result = json.RawMessage(`{"paid":1}`)
		}
	}
	var st engine.State
	_ = json.Unmarshal(rec.Final.State, &st)
	st.Variables["paid"] = 1
	rec.Final.State, _ = json.Marshal(st)
	rep := replay(t, r.def, rec, nil)
	d := find(t, rep, KindHistory, "command 3 (completeJob at payout)")
	if d.NodeID != "payout" || !strings.Contains(d.Expected, `{"paid":1}`) {
		t.Errorf("divergence = %+v", d)
	}
	v := find(t, rep, KindVariables, `"paid"`)
	if v.Expected != "1" || v.Got != "20000" {
		t.Errorf("variable divergence = %+v", v)
	}
}

// TestChangedConditionTakesAnotherPath: a large loan recorded through the
// review, replayed on a definition whose threshold is higher, goes
// straight to the payout; the recorded payout answer still applies (same
// node, first job there), the review's answer is left over.
func TestChangedConditionTakesAnotherPath(t *testing.T) {
	r := largeLoan(t)
	changed := parse(t, strings.Replace(loan, "amount > 10000", "amount > 50000", 1))
	rep := replay(t, r.def, r.record(), changed)
	if rep.Identical {
		t.Fatal("identical, want a divergence")
	}
	p := find(t, rep, KindPath, "the path differs after route")
	if p.NodeID != "review" || !strings.HasSuffix(p.Message, "only the recording went through review") {
		t.Errorf("path divergence = %+v", p)
	}
	if !strings.HasPrefix(p.Expected, "review waiting → review completed → payout waiting") || !strings.HasPrefix(p.Got, "payout waiting → payout completed") {
		t.Errorf("path expected %q got %q", p.Expected, p.Got)
	}
	find(t, rep, KindUnused, "the replay ended (COMPLETED) with 1 recorded command(s) left, from command 2 (completeTask at review)")
	find(t, rep, KindVariables, `variable "approved" is not set by the replay`)
	if rep.ReplayedStatus != "COMPLETED" || rep.Applied != 2 {
		t.Errorf("replayed %s, applied %d; want COMPLETED after the start and the payout", rep.ReplayedStatus, rep.Applied)
	}
}

// TestChangedConditionReachesUnansweredNode: a small loan recorded on the
// automatic path, replayed with a lower threshold, waits at the review,
// which nobody answered in the recording.
func TestChangedConditionReachesUnansweredNode(t *testing.T) {
	r := record(t, loan, map[string]any{"amount": 500})
	r.do(engine.Command{Kind: engine.CmdCompleteJob, Ref: r.ref("payout"), Variables: map[string]any{"paid": 500}})
	changed := parse(t, strings.Replace(loan, "amount > 10000", "amount > 100", 1))
	rep := replay(t, r.def, r.record(), changed)
	d := find(t, rep, KindUnanswered, "reached review which the recording never completed")
	if d.NodeID != "review" {
		t.Errorf("unanswered = %+v", d)
	}
	find(t, rep, KindUnused, "the recording answered job #1 at payout with command 2 (completeJob), but the replay never got there")
	s := find(t, rep, KindStatus, "final status")
	if s.Expected != "COMPLETED" || s.Got != "WAITING" {
		t.Errorf("status divergence = %+v", s)
	}
}

const triage = `{"id":"triage","version":1,"name":"Triage","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"triage","type":"exclusiveGateway","default":"f_auto","llm":{"question":"Does this need a manager?"}},
 {"id":"review","type":"userTask","name":"Manager review"},
 {"id":"reviewed","type":"endEvent"},
 {"id":"auto","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"triage"},
  {"id":"f_review","source":"triage","target":"review"},
  {"id":"f_auto","source":"triage","target":"auto"},
  {"id":"f2","source":"review","target":"reviewed"}]}`

// llmTriage records a gateway decided by a model (f_review), then the
// review.
func llmTriage(t *testing.T) (*recording, *Record) {
	r := record(t, triage, map[string]any{"amount": 20000})
	job := r.ref("triage")
	r.do(engine.Command{Kind: engine.CmdCompleteJob, Ref: job, Target: "f_review", Variables: map[string]any{"reason": "large", "confidence": 0.9}})
	r.do(engine.Command{Kind: engine.CmdCompleteTask, Ref: r.ref("review"), Variables: map[string]any{"ok": true}, Actor: "ann"})
	rec := r.record()
	rec.Decisions = []RecordDecision{{ID: "dec-1", NodeID: "triage", JobID: job, Provider: "anthropic", Model: "claude-test",
		Decision: json.RawMessage(`{"flow":"f_review","reason":"large","confidence":0.9}`)}}
	return r, rec
}

func TestLLMGatewayDecisionIsReused(t *testing.T) {
	r, rec := llmTriage(t)
	rep := replay(t, r.def, rec, nil)
	wantIdentical(t, rep)
	if len(rep.Reused) != 1 {
		t.Fatalf("reused = %+v, want the gateway's decision", rep.Reused)
	}
	u := rep.Reused[0]
	if u.Command != 2 || u.NodeID != "triage" || u.JobType != engine.JobLLMDecision || u.Answer != "flow f_review" ||
		u.DecisionID != "dec-1" || u.Model != "claude-test" {
		t.Errorf("reuse = %+v", u)
	}
	if !strings.Contains(rep.Text(), "command 2: triage (llm) → flow f_review [decision dec-1, anthropic claude-test]") {
		t.Errorf("text:\n%s", rep.Text())
	}
}

// TestLLMGatewayOnChangedDefinition: the recorded decision answers the
// changed gateway too (same node, first job there); its flow now leads to
// a new task nobody answered.
func TestLLMGatewayOnChangedDefinition(t *testing.T) {
	r, rec := llmTriage(t)
	changed := parse(t, strings.Replace(strings.Replace(triage,
		`{"id":"reviewed","type":"endEvent"}`, `{"id":"reviewed","type":"endEvent"},{"id":"escalate","type":"userTask"}`, 1),
		`{"id":"f_review","source":"triage","target":"review"}`, `{"id":"f_review","source":"triage","target":"escalate"},{"id":"f9","source":"escalate","target":"review"}`, 1))
	rep := replay(t, r.def, rec, changed)
	find(t, rep, KindUnanswered, "reached escalate which the recording never completed")
	find(t, rep, KindUnused, "task #1 at review")
	if len(rep.Reused) != 1 || rep.Reused[0].Answer != "flow f_review" {
		t.Errorf("reused = %+v, want the recorded decision", rep.Reused)
	}

	// A definition whose gateway no longer has the chosen flow: the
	// decision cannot route, which the replay shows as an incident.
	gone := parse(t, strings.ReplaceAll(triage, "f_review", "f_manager"))
	rep = replay(t, r.def, rec, gone)
	d := find(t, rep, KindUnanswered, "an incident opened at triage")
	if !strings.Contains(d.Got, `"f_review"`) {
		t.Errorf("incident divergence = %+v", d)
	}

	// An LLM gateway the recording never reached: no provider is asked.
	before := record(t, `{"id":"triage","nodes":[{"id":"start","type":"startEvent"},{"id":"auto","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"auto"}]}`, map[string]any{"amount": 1})
	rep, err := Replay(before.def, before.record(), Options{Definition: parse(t, triage)})
	if err != nil {
		t.Fatal(err)
	}
	d = find(t, rep, KindUnanswered, "reached triage which the recording never completed (a model decision the recording does not hold")
	if d.NodeID != "triage" {
		t.Errorf("unanswered = %+v", d)
	}
}

const timerFlow = `{"id":"wait","version":1,"nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"cool","type":"intermediateCatchEvent","event":{"kind":"timer","timer":{"duration":"PT1H"}}},
 {"id":"paid","type":"receiveTask","event":{"name":"payment"}},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"cool"},{"id":"f2","source":"cool","target":"paid"},{"id":"f3","source":"paid","target":"end"}]}`

func TestTimerAndMessage(t *testing.T) {
	r := record(t, timerFlow, nil)
	r.do(engine.Command{Kind: engine.CmdFireTimer, Ref: r.ref("cool"), Actor: "timer"})
	r.do(engine.Command{Kind: engine.CmdMessage, Ref: r.ref("paid"), Variables: map[string]any{"amount": 12.5}})
	if r.st.Status != engine.StatusCompleted {
		t.Fatalf("recording ended %s", r.st.Status)
	}
	rec := r.record()
	wantIdentical(t, replay(t, r.def, rec, nil))

	// A longer timer: the recorded firing still answers it (same node,
	// first timer there); nothing else changes.
	longer := parse(t, strings.Replace(timerFlow, "PT1H", "PT2H", 1))
	wantIdentical(t, replay(t, r.def, rec, longer))

	// A second timer before the message: the recording never fired it.
	twice := parse(t, strings.Replace(strings.Replace(timerFlow,
		`{"id":"end","type":"endEvent"}`, `{"id":"end","type":"endEvent"},{"id":"again","type":"intermediateCatchEvent","event":{"kind":"timer","timer":{"duration":"PT5M"}}}`, 1),
		`{"id":"f2","source":"cool","target":"paid"}`, `{"id":"f2","source":"cool","target":"again"},{"id":"f4","source":"again","target":"paid"}`, 1))
	rep := replay(t, r.def, rec, twice)
	find(t, rep, KindUnanswered, "reached again which the recording never completed")
	find(t, rep, KindUnused, "sub #1 at paid")
}

const parallel = `{"id":"par","version":1,"nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"fork","type":"parallelGateway"},
 {"id":"a","type":"userTask"},
 {"id":"b","type":"serviceTask","taskType":"b"},
 {"id":"join","type":"parallelGateway"},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"fork"},
  {"id":"fa","source":"fork","target":"a"},{"id":"fb","source":"fork","target":"b"},
  {"id":"fa2","source":"a","target":"join"},{"id":"fb2","source":"b","target":"join"},
  {"id":"f2","source":"join","target":"end"}]}`

func TestParallelGateway(t *testing.T) {
	r := record(t, parallel, map[string]any{"n": 1})
	// b answers first, a second.
	r.do(engine.Command{Kind: engine.CmdCompleteJob, Ref: r.ref("b"), Variables: map[string]any{"b": "done"}})
	r.do(engine.Command{Kind: engine.CmdCompleteTask, Ref: r.ref("a"), Variables: map[string]any{"a": "done"}})
	if r.st.Status != engine.StatusCompleted {
		t.Fatalf("recording ended %s", r.st.Status)
	}
	rec := r.record()
	wantIdentical(t, replay(t, r.def, rec, nil))

	// The branches in the other document order: other ids, same nodes.
	swapped := parse(t, strings.Replace(parallel,
		`{"id":"fa","source":"fork","target":"a"},{"id":"fb","source":"fork","target":"b"}`,
		`{"id":"fb","source":"fork","target":"b"},{"id":"fa","source":"fork","target":"a"}`, 1))
	wantIdentical(t, replay(t, r.def, rec, swapped))

	// A third branch nobody answered: the join never fires.
	third := parse(t, strings.Replace(strings.Replace(parallel,
		`{"id":"end","type":"endEvent"}`, `{"id":"end","type":"endEvent"},{"id":"c","type":"userTask"}`, 1),
		`{"id":"f2","source":"join","target":"end"}`, `{"id":"f2","source":"join","target":"end"},{"id":"fc","source":"fork","target":"c"},{"id":"fc2","source":"c","target":"join"}`, 1))
	rep := replay(t, r.def, rec, third)
	find(t, rep, KindUnanswered, "reached c which the recording never completed")
	tok := find(t, rep, KindTokens, "other nodes")
	if tok.Expected != "(none)" || !strings.Contains(tok.Got, "c (task)") || !strings.Contains(tok.Got, "join (join)") {
		t.Errorf("tokens = %+v", tok)
	}
}

// TestIncidentRetryIsMatchedByOccurrence: a job that failed, the
// operator's retry and the second job's answer apply to the replay's own
// incident and second job at the same node.
func TestIncidentRetryIsMatchedByOccurrence(t *testing.T) {
	r := record(t, loan, map[string]any{"amount": 10})
	r.do(engine.Command{Kind: engine.CmdFailJob, Ref: r.ref("payout"), ErrorMessage: "HTTP 400"})
	r.do(engine.Command{Kind: engine.CmdRetry, Ref: r.st.Incidents[0].ID, Variables: map[string]any{"iban": "DE89"}, Actor: "op"})
	r.do(engine.Command{Kind: engine.CmdCompleteJob, Ref: r.ref("payout"), Variables: map[string]any{"paid": 10}})
	rec := r.record()
	wantIdentical(t, replay(t, r.def, rec, nil))
	// A review step added on another path does not change this instance.
	other := parse(t, strings.Replace(loan, `"candidateGroups":["managers"]`, `"candidateGroups":["board"]`, 1))
	wantIdentical(t, replay(t, r.def, rec, other))
}

// TestSeveralCommandsInOneTransition: a transition in which the runner
// also completed a job inline (a pure handler) records its commands as a
// list; the replay applies them to one state and compares the history of
// the whole transition.
func TestSeveralCommandsInOneTransition(t *testing.T) {
	r := &recording{t: t, def: parse(t, loan), src: loan, now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	payout := func(st *engine.State) engine.Command {
		for _, tok := range st.Tokens {
			if tok.Node == "payout" {
				return engine.Command{Kind: engine.CmdCompleteJob, Ref: tok.Ref, Variables: map[string]any{"paid": 500}}
			}
		}
		t.Fatal("no payout job")
		return engine.Command{}
	}
	r.doInline(engine.Command{Kind: engine.CmdStart, InstanceID: "inst", Variables: map[string]any{"amount": 500}}, payout)
	if r.st.Status != engine.StatusCompleted || len(r.rec.Commands) != 1 {
		t.Fatalf("recording: %s after %d transitions", r.st.Status, len(r.rec.Commands))
	}
	rec := r.record()
	rep := replay(t, r.def, rec, nil)
	wantIdentical(t, rep)
	if rep.Commands != 2 || rep.Applied != 2 {
		t.Errorf("commands %d, applied %d; want 2 and 2", rep.Commands, rep.Applied)
	}
	wantIdentical(t, replay(t, r.def, rec, parse(t, loan)))
	// The inline answer is matched by node like any other.
	rep = replay(t, r.def, rec, parse(t, strings.Replace(loan, "amount > 10000", "amount > 100", 1)))
	find(t, rep, KindUnanswered, "reached review which the recording never completed")
}

func TestCancelAndSignalPassThrough(t *testing.T) {
	r := record(t, loan, map[string]any{"amount": 20000})
	r.do(engine.Command{Kind: engine.CmdSetVariables, Variables: map[string]any{"note": "x"}, Actor: "op"})
	r.do(engine.Command{Kind: engine.CmdCancel, Actor: "op"})
	rec := r.record()
	wantIdentical(t, replay(t, r.def, rec, nil))
	wantIdentical(t, replay(t, r.def, rec, parse(t, loan)))
}

func TestBadInput(t *testing.T) {
	r := largeLoan(t)
	good, _ := json.Marshal(r.record())
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		_ = json.Unmarshal(good, &m)
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	cmds := func(m map[string]any) []any { return m["commands"].([]any) }
	for _, tc := range []struct {
		name  string
		data  []byte
		where string
		text  string
	}{
		{"empty", []byte("  "), "", "empty"},
		{"syntax", []byte("{\n  \"format\": \"baton.record/1\",\n  \"instanceId\": oops\n}"), "line 3, column 17", "malformed JSON"},
		{"wrong type", []byte(`{"format":"baton.record/1","commands":{}}`), "line 1, column 39 (commands)", "a JSON object where"},
		{"no format", []byte(`{"instanceId":"x"}`), "format", "not a Baton instance record"},
		{"other format", edit(func(m map[string]any) { m["format"] = "baton.record/9" }), "format", "not a record format"},
		{"no definition", edit(func(m map[string]any) { m["definition"].(map[string]any)["source"] = "" }), "definition.source", "missing"},
		{"no commands", edit(func(m map[string]any) { m["commands"] = []any{} }), "commands", "cannot be replayed"},
		{"no start", edit(func(m map[string]any) { m["commands"] = cmds(m)[1:] }), "commands[0].seq", "started before Baton recorded"},
		{"not a start", edit(func(m map[string]any) {
			cmds(m)[0].(map[string]any)["command"] = cmds(m)[1].(map[string]any)["command"]
		}), "commands[0].command", "the first command is \"completeTask\", not the start"},
		{"empty group", edit(func(m map[string]any) { cmds(m)[1].(map[string]any)["command"] = []any{} }), "commands[1].command", "an empty list"},
		{"bad in group", edit(func(m map[string]any) {
			c := cmds(m)[1].(map[string]any)
			c["command"] = []any{c["command"], map[string]any{"kind": "completeJob", "time": "yesterday"}}
		}), "commands[1].command[1].time", "cannot parse"},
		{"gap", edit(func(m map[string]any) { m["commands"] = append(cmds(m)[:1], cmds(m)[2:]...) }), "commands[1].seq", "seq 3 follows 1"},
		{"bad command", edit(func(m map[string]any) {
			cmds(m)[1].(map[string]any)["command"] = map[string]any{"kind": "completeTask", "time": 5}
		}), "commands[1].command.time", "not a JSON string"},
		{"bad variables", edit(func(m map[string]any) {
			cmds(m)[1].(map[string]any)["command"] = map[string]any{"kind": "completeTask", "time": "2026-01-01T00:00:00Z", "variables": []any{1}}
		}), "commands[1].command.variables", "a JSON array where"},
		{"no time", edit(func(m map[string]any) {
			cmds(m)[1].(map[string]any)["command"] = map[string]any{"kind": "completeTask"}
		}), "commands[1].command.time", "missing"},
		{"no state", edit(func(m map[string]any) { delete(m["final"].(map[string]any), "state") }), "final.state", "missing"},
		{"bad result", []byte(strings.Replace(string(good), `"history":[`, `"history":[{"seq":0,"checkpoint":1,"nodeId":"x","action":"a","timestamp":"2026-01-01T00:00:00Z","result":"x"},`, 1)), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := Decode(tc.data)
			if tc.where == "" && tc.text == "" {
				if err != nil {
					t.Fatalf("Decode() = %v, want success", err)
				}
				return
			}
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("Decode() = %v, %v; want an *InputError", rec, err)
			}
			if ie.Where != tc.where || !strings.Contains(ie.Error(), tc.text) {
				t.Errorf("Decode() = %q (where %q), want where %q and %q", err, ie.Where, tc.where, tc.text)
			}
		})
	}

	// A record built in Go gets the same checks from Replay.
	rec := r.record()
	rec.Format = ""
	if _, err := Replay(r.def, rec, Options{}); err == nil || !strings.Contains(err.Error(), "format") {
		t.Errorf("Replay(no format) = %v", err)
	}
	rec = r.record()
	if _, err := Replay(parse(t, triage), rec, Options{}); err == nil || !strings.Contains(err.Error(), `"triage" is not the recorded one ("loan")`) {
		t.Errorf("Replay(other definition) = %v", err)
	}
	if _, err := Replay(nil, rec, Options{}); err == nil {
		t.Error("Replay(nil definition) = nil error")
	}
	if _, err := Replay(r.def, nil, Options{}); err == nil {
		t.Error("Replay(nil record) = nil error")
	}
}

// TestMaxDivergences: a long list is cut, and the rest counted.
func TestMaxDivergences(t *testing.T) {
	r := record(t, loan, map[string]any{"amount": 20000, "a": 1, "b": 2, "c": 3, "d": 4})
	rec := r.record()
	var st engine.State
	_ = json.Unmarshal(rec.Final.State, &st)
	st.Variables = map[string]any{}
	rec.Final.State, _ = json.Marshal(st)
	rep, err := Replay(r.def, rec, Options{MaxDivergences: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Divergences) != 2 || rep.More != 3 || rep.Identical {
		t.Errorf("divergences %d, more %d; want 2 listed and 3 more", len(rep.Divergences), rep.More)
	}
	if !strings.Contains(rep.Text(), "… and 3 more") {
		t.Errorf("text:\n%s", rep.Text())
	}
}

// FuzzDecodeAndReplay: whatever the bytes, Decode and Replay return an
// error or a report; they never panic.
func FuzzDecodeAndReplay(f *testing.F) {
	def := func() *model.Definition {
		d, err := model.ParseJSON("test.json", []byte(loan))
		if err != nil {
			f.Fatal(err)
		}
		return d
	}()
	for _, vars := range []map[string]any{{"amount": 20000}, {"amount": 5}} {
		r := &recording{t: f, def: def, src: loan, now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
		r.do(engine.Command{Kind: engine.CmdStart, InstanceID: "inst", Variables: vars})
		b, _ := json.Marshal(r.record())
		f.Add(b)
	}
	f.Add([]byte(`{"format":"baton.record/1","instanceId":"i","definition":{"id":"loan","source":"x"},"commands":[{"seq":1,"command":[]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := Decode(data)
		if err != nil {
			return
		}
		for _, changed := range []*model.Definition{nil, def} {
			if _, err := Replay(def, rec, Options{Definition: changed}); err != nil && !strings.Contains(err.Error(), "not the recorded one") {
				var ie *InputError
				if !errors.As(err, &ie) && !strings.Contains(err.Error(), "internal error") {
					t.Errorf("Replay() = %v", err)
				}
			}
		}
	})
}

// TestMigratedInstanceIsRefused: a record holds one definition, so a
// replay of an instance that migrated between versions says so instead of
// replaying its early commands on the wrong version.
func TestMigratedInstanceIsRefused(t *testing.T) {
	r := record(t, loan, map[string]any{"amount": 20000})
	v2 := parse(t, strings.Replace(loan, `"version":1`, `"version":2`, 1))
	r.now = r.now.Add(time.Second)
	cmd := engine.Command{Kind: engine.CmdMigrate, Time: r.now, DefinitionID: "loan", DefinitionVersion: 2, Actor: "olga"}
	st, _, err := engine.Migrate(r.def, v2, r.st, cmd)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(cmd)
	r.commit(b, st)
	_, err = Replay(r.def, r.record(), Options{})
	if err == nil || !strings.Contains(err.Error(), "migrated to loan v2 by command 2") {
		t.Fatalf("Replay() = %v, want the migration named", err)
	}
}
