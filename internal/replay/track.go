package replay

import (
	"encoding/json"
	"fmt"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
)

// What waits for what: each wait state is known by where it is, so that
// a replay can match recorded answers to the wait states it reaches.

// key names a wait state by where it is, not by its id: the N-th job
// (task, timer, subscription, incident) created at a node.
type key struct {
	Class string // job, task, timer, sub, incident, token
	Node  string
	N     int
}

func (k key) String() string {
	if k.Class == "token" {
		return "a token at " + k.Node
	}
	return fmt.Sprintf("%s #%d at %s", k.Class, k.N, k.Node)
}

// tracker follows the jobs, tasks, timers, subscriptions and incidents a
// run creates, from its effects.
type tracker struct {
	count   map[[2]string]int
	byID    map[string]key
	ids     map[key]string
	jobType map[string]string
}

func newTracker() *tracker {
	return &tracker{count: map[[2]string]int{}, byID: map[string]key{}, ids: map[key]string{}, jobType: map[string]string{}}
}

func (tr *tracker) note(eff []engine.Effect) {
	for _, e := range eff {
		var class string
		switch e.Kind {
		case engine.EffJob:
			class = "job"
			tr.jobType[e.ID] = e.Type
		case engine.EffTask:
			class = "task"
		case engine.EffTimer:
			class = "timer"
		case engine.EffSubscribe:
			class = "sub"
		case engine.EffIncident:
			class = "incident"
		default:
			continue
		}
		if e.ID == "" {
			continue
		}
		if _, seen := tr.byID[e.ID]; seen {
			continue
		}
		c := [2]string{class, e.NodeID}
		tr.count[c]++
		k := key{Class: class, Node: e.NodeID, N: tr.count[c]}
		tr.byID[e.ID] = k
		tr.ids[k] = e.ID
	}
}

// refClass is the class of what a command answers ("" for commands that
// answer nothing in particular: cancel, signal, variables, notes).
func refClass(c engine.Command) string {
	switch c.Kind {
	case engine.CmdCompleteJob, engine.CmdFailJob, engine.CmdThrowError:
		return "job"
	case engine.CmdCompleteTask:
		return "task"
	case engine.CmdFireTimer:
		return "timer"
	case engine.CmdMessage:
		if c.Ref != "" {
			return "sub"
		}
	case engine.CmdRetry, engine.CmdSkip:
		return "incident"
	case engine.CmdMove:
		if c.Ref != "" {
			return "incident"
		}
		return "token"
	}
	return ""
}

// isLLMJob reports whether a job type is answered by a model: gateway
// decisions, natural-language rules, agent steps.
func isLLMJob(typ string) bool {
	return typ == engine.JobLLMDecision || typ == engine.JobLLMRule || typ == engine.JobAgent
}

// step is engine.Step that turns a panic into an error.
func step(def *model.Definition, st *engine.State, cmd engine.Command) (next *engine.State, eff []engine.Effect, err error) {
	defer func() {
		if r := recover(); r != nil {
			next, eff, err = nil, nil, fmt.Errorf("the engine panicked: %v", r)
		}
	}()
	return engine.Step(def, st, cmd)
}

// settle drains a stepped state's history and passes the state through
// JSON, as the runner does between transitions (it stores the checkpoint
// and reads it back for the next command).
func settle(st *engine.State) (*engine.State, []engine.HistoryEntry, error) {
	hist := st.History
	st.History = nil
	b, err := json.Marshal(st)
	if err != nil {
		return nil, hist, fmt.Errorf("encode state: %w", err)
	}
	var out engine.State
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, hist, fmt.Errorf("decode state: %w", err)
	}
	return &out, hist, nil
}

// describe names a command for messages: "completeTask at review".
func describe(c engine.Command, tr *tracker) string {
	s := string(c.Kind)
	if k, ok := tr.byID[c.Ref]; ok && c.Ref != "" && k.Class == refClass(c) {
		return s + " at " + k.Node
	}
	switch {
	case c.Kind == engine.CmdStart:
		if c.StartNode != "" {
			return s + " at " + c.StartNode
		}
	case c.Ref != "":
		return s + " " + c.Ref
	case c.Name != "":
		return s + " " + c.Name
	case c.Target != "":
		return s + " to " + c.Target
	}
	return s
}

func (p *replayer) reuse(pos int, c engine.Command, node, typ, recordedRef string) {
	r := Reuse{Command: pos, NodeID: node, JobType: typ, Answer: answerText(c, typ)}
	for _, d := range p.rec.Decisions {
		if d.JobID != "" && d.JobID == recordedRef {
			r.DecisionID, r.Provider, r.Model = d.ID, d.Provider, d.Model
		}
	}
	p.rep.Reused = append(p.rep.Reused, r)
}

// answerText summarises a recorded answer to an LLM job.
func answerText(c engine.Command, typ string) string {
	switch {
	case c.Kind != engine.CmdCompleteJob:
		return string(c.Kind)
	case typ == engine.JobLLMDecision && c.Target != "":
		if c.Name == engine.DecisionReview {
			return "flow " + c.Target + ", confirmed by a person"
		}
		return "flow " + c.Target
	case typ == engine.JobLLMDecision && c.Name == engine.DecisionReview:
		return "a person decides"
	case typ == engine.JobLLMDecision:
		if f, ok := c.Variables["fallback"].(string); ok {
			return "no decision (" + f + "): the gateway's fallback"
		}
		return "no decision: the gateway's fallback"
	}
	return compact(c.Variables)
}
