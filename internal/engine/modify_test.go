package engine

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// modModel: a user task with a timer boundary, then a sub-process holding
// a service task, then a plain task before the end.
const modModel = `{"id":"mod","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"review","type":"userTask","assignee":"ann"},
 {"id":"late","type":"boundaryEvent","attachedTo":"review","event":{"kind":"timer","timer":{"duration":"PT1H"}}},
 {"id":"lateEnd","type":"endEvent"},
 {"id":"sub","type":"subProcess"},
 {"id":"s0","type":"startEvent","parent":"sub"},
 {"id":"inner","type":"serviceTask","taskType":"inner","parent":"sub"},
 {"id":"e0","type":"endEvent","parent":"sub"},
 {"id":"after","type":"serviceTask","taskType":"after"},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"review"},{"id":"f2","source":"review","target":"sub"},
 {"id":"f3","source":"s0","target":"inner"},{"id":"f4","source":"inner","target":"e0"},
 {"id":"f5","source":"sub","target":"after"},{"id":"f6","source":"after","target":"end"},
 {"id":"f7","source":"late","target":"lateEnd"}]}`

func snapshot(t *testing.T, st *State) string {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func effectsOf(eff []Effect, kind EffectKind) []Effect {
	var out []Effect
	for _, e := range eff {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func historyOf(st *State, a Action) []HistoryEntry {
	var out []HistoryEntry
	for _, h := range st.History {
		if h.Action == a {
			out = append(out, h)
		}
	}
	return out
}

func TestModifyCancelAndActivateInOneStep(t *testing.T) {
	d := mustParse(t, modModel)
	st, eff := start(t, d, nil)
	task, timer := find(eff, EffTask), find(eff, EffTimer)
	if task == nil || timer == nil {
		t.Fatalf("start effects = %+v", eff)
	}
	st.History = nil
	st, eff = step(t, d, st, Command{Kind: CmdModify, Actor: "olga", Instructions: []Instruction{
		{Op: OpCancel, Node: "review"},
		{Op: OpActivate, Node: "sub", Variables: map[string]any{"reason": "skip review"}},
	}})
	// The task and its boundary timer are closed, the sub-process's job opened.
	var cancelled []string
	for _, e := range effectsOf(eff, EffCancel) {
		cancelled = append(cancelled, e.ID)
	}
	if want := []string{task.ID, timer.ID}; !reflect.DeepEqual(cancelled, want) {
		t.Errorf("cancelled = %v, want %v", cancelled, want)
	}
	job := find(eff, EffJob)
	if job == nil || job.NodeID != "inner" {
		t.Fatalf("job effect = %+v, want one at inner", job)
	}
	if got := st.CurrentNodeIDs(); !reflect.DeepEqual(got, []string{"sub", "inner"}) {
		t.Errorf("current = %v", got)
	}
	if st.Variables["reason"] != "skip review" || st.Status != StatusRunning {
		t.Errorf("variables = %v, status = %s", st.Variables, st.Status)
	}
	for _, a := range []Action{ActModified, ActCancelled, ActActivated} {
		h := historyOf(st, a)
		if len(h) == 0 || h[0].Actor != "olga" {
			t.Errorf("history %s = %+v, want an entry by olga", a, h)
		}
	}
	if h := historyOf(st, ActCancelled); h[0].NodeID != "review" {
		t.Errorf("cancelled %q, want review", h[0].NodeID)
	}
	if len(st.Subs) != 0 {
		t.Errorf("subs = %+v, want none", st.Subs)
	}
}

func TestModifyRefusedChangesNothing(t *testing.T) {
	d := mustParse(t, modModel)
	cases := []struct {
		name   string
		ins    []Instruction
		index  int
		node   string
		reason string
	}{
		{"unknown node", []Instruction{{Op: OpCancel, Node: "review"}, {Op: OpActivate, Node: "nope"}}, 1, "nope", "does not exist"},
		{"start event", []Instruction{{Op: OpActivate, Node: "start"}}, 0, "start", "start event"},
		{"boundary event", []Instruction{{Op: OpActivate, Node: "late"}}, 0, "late", "boundary event"},
		{"inactive scope", []Instruction{{Op: OpCancel, Node: "review"}, {Op: OpActivate, Node: "inner"}}, 1, "inner", `scope "sub" is not active`},
		{"no token at node", []Instruction{{Op: OpCancel, Node: "after"}}, 0, "after", "no token"},
		{"unknown token", []Instruction{{Op: OpCancel, Token: 99}}, 0, "", "token 99"},
		{"unknown op", []Instruction{{Op: OpActivate, Node: "after"}, {Op: "jump", Node: "after"}}, 1, "after", "unknown op"},
		{"scope at process level", []Instruction{{Op: OpActivate, Node: "after", Scope: 1}}, 0, "after", "process level"},
		{"empty variables", []Instruction{{Op: OpSetVariables}}, 0, "", "no variables"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, _ := start(t, d, nil)
			before := snapshot(t, st)
			_, eff, err := Step(d, st, Command{Kind: CmdModify, Time: t0, Instructions: c.ins})
			var ie *InstructionError
			if !errors.As(err, &ie) || !errors.Is(err, ErrInvalidCommand) {
				t.Fatalf("err = %v, want an InstructionError", err)
			}
			if ie.Index != c.index || ie.Node != c.node || !strings.Contains(ie.Reason, c.reason) {
				t.Errorf("error = %+v, want index %d node %q reason containing %q", ie, c.index, c.node, c.reason)
			}
			if len(eff) != 0 || snapshot(t, st) != before {
				t.Errorf("a refused modification changed the state or had effects %+v", eff)
			}
		})
	}
	// Cancelling every token without activating anything is a cancel of
	// the instance, which has its own command.
	st, _ := start(t, d, nil)
	before := snapshot(t, st)
	if _, _, err := Step(d, st, Command{Kind: CmdModify, Time: t0, Instructions: []Instruction{{Op: OpCancel, Node: "review"}}}); !errors.Is(err, ErrInvalidCommand) || !strings.Contains(err.Error(), "without an active token") {
		t.Errorf("err = %v, want a refusal naming the empty instance", err)
	}
	if snapshot(t, st) != before {
		t.Error("refused modification changed the state")
	}
}

// inSub returns an instance waiting at inner, inside sub.
func inSub(t *testing.T) (*State, Effect) {
	t.Helper()
	d := mustParse(t, modModel)
	st, eff := start(t, d, nil)
	st, eff = step(t, d, st, Command{Kind: CmdCompleteTask, Ref: find(eff, EffTask).ID})
	job := find(eff, EffJob)
	if job == nil || job.NodeID != "inner" {
		t.Fatalf("job = %+v, want one at inner", job)
	}
	st.History = nil
	return st, *job
}

func TestModifyScopeVariablesAndRestart(t *testing.T) {
	d := mustParse(t, modModel)
	st, job := inSub(t)
	holder := st.Tokens[0].ID
	st, eff := step(t, d, st, Command{Kind: CmdModify, Actor: "olga", Instructions: []Instruction{
		{Op: OpCancel, Node: "inner"},
		{Op: OpActivate, Node: "inner", Variables: map[string]any{"attempt": 2.0}},
		{Op: OpSetVariables, Variables: map[string]any{"global": true}},
		{Op: OpSetVariables, Node: "sub", Variables: map[string]any{"local": "x"}},
	}})
	if c := find(eff, EffCancel); c == nil || c.ID != job.ID {
		t.Errorf("cancel = %+v, want the old job %s", c, job.ID)
	}
	nj := find(eff, EffJob)
	if nj == nil || nj.NodeID != "inner" || nj.ID == job.ID {
		t.Fatalf("new job = %+v", nj)
	}
	if nj.Locals["attempt"] != 2.0 || nj.Locals["local"] != "x" {
		t.Errorf("job locals = %v, want the scope's attempt and local", nj.Locals)
	}
	h := st.Token(holder)
	if h == nil || h.Locals["attempt"] != 2.0 || h.Locals["local"] != "x" {
		t.Errorf("scope holder = %+v", h)
	}
	if st.Variables["global"] != true || st.Variables["attempt"] != nil {
		t.Errorf("instance variables = %v", st.Variables)
	}
}

func TestModifyCancelsScopeLeftEmpty(t *testing.T) {
	d := mustParse(t, modModel)
	st, job := inSub(t)
	st, eff := step(t, d, st, Command{Kind: CmdModify, Instructions: []Instruction{
		{Op: OpCancel, Token: st.Tokens[1].ID},
		{Op: OpActivate, Node: "after"},
	}})
	if got := st.CurrentNodeIDs(); !reflect.DeepEqual(got, []string{"after"}) {
		t.Errorf("current = %v, want [after]: the emptied sub-process is cancelled", got)
	}
	var nodes []string
	for _, h := range historyOf(st, ActCancelled) {
		nodes = append(nodes, h.NodeID)
	}
	if !reflect.DeepEqual(nodes, []string{"inner", "sub"}) {
		t.Errorf("cancelled = %v, want [inner sub]", nodes)
	}
	if c := find(eff, EffCancel); c == nil || c.ID != job.ID {
		t.Errorf("cancel = %+v", c)
	}
	// Finishing the activated task completes the instance.
	st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: find(eff, EffJob).ID})
	if st.Status != StatusCompleted {
		t.Errorf("status = %s, want COMPLETED", st.Status)
	}
}

func TestModifyNeedsScopeWhenSeveral(t *testing.T) {
	d := mustParse(t, modModel)
	st, _ := inSub(t)
	// A second instance of sub, activated by an operator.
	st, _ = step(t, d, st, Command{Kind: CmdModify, Instructions: []Instruction{{Op: OpActivate, Node: "sub"}}})
	var holders []int64
	for _, tk := range st.Tokens {
		if tk.Node == "sub" {
			holders = append(holders, tk.ID)
		}
	}
	if len(holders) != 2 {
		t.Fatalf("sub holders = %v, want 2", holders)
	}
	_, _, err := Step(d, st, Command{Kind: CmdModify, Time: t0, Instructions: []Instruction{{Op: OpActivate, Node: "inner"}}})
	if err == nil || !strings.Contains(err.Error(), "2 active instances") {
		t.Fatalf("err = %v, want ambiguity named", err)
	}
	st, eff := step(t, d, st, Command{Kind: CmdModify, Instructions: []Instruction{{Op: OpActivate, Node: "inner", Scope: holders[1]}}})
	if j := find(eff, EffJob); j == nil || st.Token(holders[1]) == nil {
		t.Fatalf("job = %+v", j)
	}
	n := 0
	for _, tk := range st.Tokens {
		if tk.Node == "inner" && tk.Scope == holders[1] {
			n++
		}
	}
	if n != 2 {
		t.Errorf("tokens at inner in scope %d = %d, want 2", holders[1], n)
	}
}

// TestModifyFailedInstance: cancelling the token an incident stops
// resolves the incident; the instance runs again from the activated node.
func TestModifyFailedInstance(t *testing.T) {
	d := mustParse(t, modModel)
	st, job := inSub(t)
	st, eff := step(t, d, st, Command{Kind: CmdFailJob, Ref: job.ID, ErrorMessage: "down"})
	inc := find(eff, EffIncident)
	if st.Status != StatusFailed || inc == nil {
		t.Fatalf("status %s, incident %+v", st.Status, inc)
	}
	st, eff = step(t, d, st, Command{Kind: CmdModify, Instructions: []Instruction{{Op: OpCancel, Node: "sub"}, {Op: OpActivate, Node: "after"}}})
	if r := find(eff, EffResolve); r == nil || r.ID != inc.ID {
		t.Errorf("resolve = %+v, want incident %s", r, inc.ID)
	}
	if st.Status != StatusRunning || len(st.Incidents) != 0 || !reflect.DeepEqual(st.CurrentNodeIDs(), []string{"after"}) {
		t.Errorf("status %s, incidents %+v, at %v", st.Status, st.Incidents, st.CurrentNodeIDs())
	}
}
