package engine

import (
	"strings"
	"testing"
	"time"
)

func agentFlow(agent string) string {
	return `{"id":"a","nodes":[{"id":"start","type":"startEvent"},
	 {"id":"helper","type":"agentTask","agent":` + agent + `,"resultVariable":"outcome"},
	 {"id":"lookup","type":"serviceTask","parent":"helper","taskType":"crm","inputSchema":{"type":"object","properties":{"q":{"type":"string"}}}},
	 {"id":"ask","type":"userTask","parent":"helper"},
	 {"id":"end","type":"endEvent"}],
	 "edges":[{"id":"f1","source":"start","target":"helper"},{"id":"f2","source":"helper","target":"end"}]}`
}

// agentJob returns the agent job among eff and the progress it carries.
func agentJob(t *testing.T, eff []Effect) (*Effect, *AgentRun) {
	t.Helper()
	for i := range eff {
		if eff[i].Kind == EffJob && eff[i].Type == JobAgent {
			r, _ := eff[i].Locals[AgentPayloadKey].(*AgentRun)
			if r == nil {
				t.Fatalf("agent job without progress: %+v", eff[i])
			}
			return &eff[i], r
		}
	}
	t.Fatalf("no agent job in %+v", eff)
	return nil, nil
}

func TestAgentTaskLoop(t *testing.T) {
	d := mustParse(t, agentFlow(`{"goal":"Find the customer","maxSteps":3}`))
	st, eff := start(t, d, map[string]any{"name": "Ann"})
	job, run := agentJob(t, eff)
	if len(run.Steps) != 0 || st.Status != StatusRunning {
		t.Fatalf("first ask: %+v, %s", run, st.Status)
	}
	// Step 1: the agent calls the service with its input.
	st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: map[string]any{
		"action": "run", "activity": "lookup", "input": map[string]any{"q": "Ann"}, "reason": "look her up", "tokens": 120}})
	svc := find(eff, EffJob)
	if svc == nil || svc.NodeID != "lookup" || svc.TaskType != "crm" || svc.Locals["q"] != "Ann" {
		t.Fatalf("service job %+v", svc)
	}
	// The service answers; the agent is asked again and sees the result.
	st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: svc.ID, Variables: map[string]any{"customerId": "c-7"}})
	job, run = agentJob(t, eff)
	if len(run.Steps) != 1 || !run.Steps[0].Done || run.Steps[0].Result["customerId"] != "c-7" || run.Tokens != 120 {
		t.Fatalf("progress after step 1: %+v", run)
	}
	if st.Variables["customerId"] != "c-7" {
		t.Fatalf("service output not merged: %v", st.Variables)
	}
	// Step 2: a person is asked.
	st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: map[string]any{"action": "run", "activity": "ask", "tokens": 80}})
	task := find(eff, EffTask)
	if task == nil || task.NodeID != "ask" || st.Status != StatusWaiting {
		t.Fatalf("user task %+v, status %s", task, st.Status)
	}
	st, eff = step(t, d, st, Command{Kind: CmdCompleteTask, Ref: task.ID, Variables: map[string]any{"confirmed": true}})
	job, run = agentJob(t, eff)
	if len(run.Steps) != 2 || run.Steps[1].Result["confirmed"] != true {
		t.Fatalf("progress after step 2: %+v", run)
	}
	// The agent finishes; its result lands in the result variable.
	st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: map[string]any{
		"action": "finish", "result": map[string]any{"customer": "c-7"}, "reason": "done"}})
	if st.Status != StatusCompleted {
		t.Fatalf("status %s at %v", st.Status, st.CurrentNodeIDs())
	}
	out, _ := st.Variables["outcome"].(map[string]any)
	if out["customer"] != "c-7" {
		t.Fatalf("result %v", st.Variables)
	}
	steps := 0
	for _, h := range st.History {
		if h.Action == ActAgentStep {
			steps++
		}
	}
	if steps != 3 {
		t.Fatalf("%d agent steps in the history, want 3", steps)
	}
}

func agentIncident(t *testing.T, st *State, want string) Incident {
	t.Helper()
	if st.Status != StatusFailed || len(st.Incidents) != 1 {
		t.Fatalf("status %s, incidents %+v", st.Status, st.Incidents)
	}
	inc := st.Incidents[0]
	if inc.Kind != IncidentAgent || !strings.Contains(inc.Message, want) || inc.NodeID != "helper" {
		t.Fatalf("incident %+v, want %q", inc, want)
	}
	return inc
}

func TestAgentTaskLimits(t *testing.T) {
	t.Run("steps", func(t *testing.T) {
		d := mustParse(t, agentFlow(`{"goal":"g","maxSteps":1}`))
		st, eff := start(t, d, nil)
		job, _ := agentJob(t, eff)
		st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: map[string]any{"action": "run", "activity": "lookup"}})
		st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: find(eff, EffJob).ID})
		job, r := agentJob(t, eff)
		if r.StepsLeft(d.Node("helper")) != 0 {
			t.Fatalf("steps left %d", r.StepsLeft(d.Node("helper")))
		}
		st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: map[string]any{"action": "run", "activity": "lookup"}})
		inc := agentIncident(t, st, "used its 1 steps")
		// An operator's retry gives a fresh allowance: the agent is asked
		// again and may run one more activity.
		st, eff = step(t, d, st, Command{Kind: CmdRetry, Ref: inc.ID})
		job, r = agentJob(t, eff)
		if r.StepsLeft(d.Node("helper")) != 1 || len(r.Steps) != 1 {
			t.Fatalf("after retry: %+v", r)
		}
		st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: map[string]any{"action": "finish"}})
		if st.Status != StatusCompleted {
			t.Fatalf("status %s", st.Status)
		}
	})
	t.Run("tokens", func(t *testing.T) {
		d := mustParse(t, agentFlow(`{"goal":"g","maxTokens":100}`))
		st, eff := start(t, d, nil)
		job, _ := agentJob(t, eff)
		st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: map[string]any{"action": "run", "activity": "lookup", "tokens": 150}})
		st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: find(eff, EffJob).ID})
		agentIncident(t, st, "spent 150 tokens")
	})
	t.Run("time", func(t *testing.T) {
		d := mustParse(t, agentFlow(`{"goal":"g","timeLimit":"PT1M"}`))
		st, eff := start(t, d, nil)
		job, _ := agentJob(t, eff)
		st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: map[string]any{"action": "run", "activity": "lookup"}})
		st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Time: t0.Add(2 * time.Minute), Ref: find(eff, EffJob).ID})
		agentIncident(t, st, "its limit is PT1M")
	})
	t.Run("unknown activity", func(t *testing.T) {
		d := mustParse(t, agentFlow(`{"goal":"g"}`))
		st, eff := start(t, d, nil)
		job, _ := agentJob(t, eff)
		st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: map[string]any{"action": "run", "activity": "end"}})
		agentIncident(t, st, `chose "end"`)
	})
	t.Run("stop", func(t *testing.T) {
		d := mustParse(t, agentFlow(`{"goal":"g"}`))
		st, eff := start(t, d, nil)
		job, _ := agentJob(t, eff)
		st, _ = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: map[string]any{"action": "stop", "problem": "no provider"}})
		inc := agentIncident(t, st, "no provider")
		// Skipping completes the agent task without a result.
		st, _ = step(t, d, st, Command{Kind: CmdSkip, Ref: inc.ID})
		if st.Status != StatusCompleted {
			t.Fatalf("after skip: %s", st.Status)
		}
	})
}

func TestAgentTaskHearsErrors(t *testing.T) {
	d := mustParse(t, agentFlow(`{"goal":"g"}`))
	st, eff := start(t, d, nil)
	job, _ := agentJob(t, eff)
	st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: map[string]any{"action": "run", "activity": "lookup"}})
	st, eff = step(t, d, st, Command{Kind: CmdThrowError, Ref: find(eff, EffJob).ID, ErrorCode: "NOT_FOUND", ErrorMessage: "no such customer"})
	_, r := agentJob(t, eff)
	if len(st.Incidents) != 0 || len(r.Steps) != 1 || r.Steps[0].Error != "NOT_FOUND: no such customer" {
		t.Fatalf("incidents %+v, progress %+v", st.Incidents, r)
	}
}

func TestAgentTaskCancel(t *testing.T) {
	d := mustParse(t, agentFlow(`{"goal":"g"}`))
	st, eff := start(t, d, nil)
	job, _ := agentJob(t, eff)
	st, eff = step(t, d, st, Command{Kind: CmdCompleteJob, Ref: job.ID, Variables: map[string]any{"action": "run", "activity": "ask"}})
	task := find(eff, EffTask)
	st, eff = step(t, d, st, Command{Kind: CmdCancel})
	if st.Status != StatusCancelled {
		t.Fatalf("status %s", st.Status)
	}
	if c := find(eff, EffCancel); c == nil || c.ID != task.ID {
		t.Fatalf("the running user task was not cancelled: %+v", eff)
	}
}

func TestAgentTaskSimulate(t *testing.T) {
	d := mustParse(t, agentFlow(`{"goal":"g"}`))
	st, _, err := Step(d, nil, Command{Kind: CmdStart, Time: t0, InstanceID: "s", Simulate: true})
	if err != nil || st.Status != StatusCompleted {
		t.Fatalf("simulation: %v, %v", err, st)
	}
}
