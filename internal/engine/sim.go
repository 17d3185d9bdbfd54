package engine

import (
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/model"
)

// SimOptions tune Simulate.
type SimOptions struct {
	// DeliverEvents triggers waiting message, signal and other catch events
	// one at a time, earliest-started first, whenever the instance is idle.
	DeliverEvents bool
	// Start is the virtual clock's start (default 2000-01-01T00:00:00Z).
	Start time.Time
	// MaxSteps bounds the commands applied (default 100000).
	MaxSteps int
	// Called resolves a call activity's called element to a definition
	// (the other processes of the same BPMN file, say). A call activity
	// whose process it does not know completes like a task.
	Called func(id string) *model.Definition
	depth  int
}

// Element is a completed flow element, with its BPMN type name
// ("StartEvent", "ServiceTask").
type Element struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// SimError is the error a simulation ended with.
type SimError struct {
	Message string `json:"message"`
	NodeID  string `json:"nodeId,omitempty"`
}

// SimResult is the outcome of a token simulation.
type SimResult struct {
	Outcome   string         `json:"outcome"` // completed, waiting or error
	Completed []Element      `json:"completed"`
	WaitingAt []string       `json:"waitingAt"`
	Variables map[string]any `json:"variables"`
	Error     *SimError      `json:"error,omitempty"`
	// VirtualTime is how far the virtual clock moved.
	VirtualTime time.Duration  `json:"virtualTimeMs"`
	History     []HistoryEntry `json:"-"`
	State       *State         `json:"-"`
}

// BPMNTypeName turns a node type into its BPMN class name ("userTask" →
// "UserTask").
func BPMNTypeName(t string) string {
	if t == "" {
		return t
	}
	b := []byte(t)
	if b[0] >= 'a' && b[0] <= 'z' {
		b[0] -= 'a' - 'A'
	}
	return string(b)
}

// Simulate runs the definition as a token simulation: every task
// completes as soon as it starts, with no output; no script runs; timers
// fire on a virtual clock that jumps to the earliest pending timer when
// nothing else can happen; with DeliverEvents, waiting catch events are
// triggered one at a time, earliest-started first, before time moves.
func Simulate(def *model.Definition, vars map[string]any, opts SimOptions) SimResult {
	if opts.Start.IsZero() {
		opts.Start = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if opts.MaxSteps <= 0 {
		opts.MaxSteps = 100_000
	}
	now := opts.Start
	res := SimResult{Completed: []Element{}, WaitingAt: []string{}}
	st, _, err := Step(def, nil, Command{Kind: CmdStart, Time: now, InstanceID: "sim", Variables: vars, Simulate: true})
	if err != nil {
		res.Outcome = "error"
		res.Error = &SimError{Message: err.Error()}
		return res
	}
	for step := 0; ; step++ {
		if step >= opts.MaxSteps {
			res.Outcome = "error"
			res.Error = &SimError{Message: fmt.Sprintf("simulation did not settle after %d events", opts.MaxSteps)}
			break
		}
		if st.Status.Ended() {
			res.Outcome = "completed"
			break
		}
		if len(st.Incidents) > 0 {
			res.Outcome = "error"
			inc := st.Incidents[0]
			res.Error = &SimError{Message: inc.Message, NodeID: inc.NodeID}
			break
		}
		var cmd Command
		if t := nextCall(st); t != nil {
			cmd = Command{Kind: CmdCompleteJob, Ref: t.Ref}
			n := def.Node(t.Node)
			called, _ := CalledElement(n, st.Variables, now)
			if opts.Called != nil && opts.depth < 20 && called != "" {
				if child := opts.Called(called); child != nil {
					co := opts
					co.depth++
					co.Start = now
					r := Simulate(child, st.Variables, co)
					if code, msg, ok := ThrownError(r.State); r.Outcome == "error" && ok {
						// The called process threw an error it did not
						// catch: it reaches the call activity.
						cmd = Command{Kind: CmdThrowError, Ref: t.Ref, ErrorCode: code, ErrorMessage: msg}
					} else if r.Outcome != "completed" {
						res.Outcome = r.Outcome
						res.Error = r.Error
						if res.Error == nil {
							res.Error = &SimError{Message: fmt.Sprintf("called process %q did not complete (%s)", called, r.Outcome), NodeID: n.ID}
						}
						break
					}
					for _, h := range r.History {
						if h.NodeID != "" {
							st.History = append(st.History, h)
						}
					}
					now = now.Add(r.VirtualTime)
				}
			}
		} else if i := nextEvent(st, opts.DeliverEvents); i >= 0 {
			cmd = Command{Kind: CmdMessage, Ref: st.Subs[i].ID}
		} else if i := nextTimer(st); i >= 0 {
			if due := st.Subs[i].Due; due.After(now) {
				now = due
			}
			cmd = Command{Kind: CmdFireTimer, Ref: st.Subs[i].ID}
		} else {
			res.Outcome = "waiting"
			res.WaitingAt = waitingAt(st)
			break
		}
		cmd.Time = now
		cmd.Actor = "simulation"
		if st, _, err = Step(def, st, cmd); err != nil {
			res.Outcome = "error"
			res.Error = &SimError{Message: err.Error()}
			break
		}
	}
	for _, h := range st.History {
		if h.Action == ActCompleted && h.NodeID != "" {
			res.Completed = append(res.Completed, Element{ID: h.NodeID, Type: BPMNTypeName(h.NodeType)})
		}
	}
	res.Variables = st.Variables
	res.VirtualTime = now.Sub(opts.Start)
	res.History = st.History
	res.State = st
	return res
}

// nextEvent picks the earliest-started non-timer subscription that is a
// waiting point (boundary events on tasks never wait in a simulation).
func nextEvent(st *State, deliver bool) int {
	if !deliver {
		return -1
	}
	best := -1
	for i, sb := range st.Subs {
		if sb.Kind == SubTimer || sb.Fired > 0 {
			// A non-interrupting event sub-process that ran once would
			// run again and again.
			continue
		}
		if best < 0 || sb.Seq < st.Subs[best].Seq {
			best = i
		}
	}
	return best
}

// nextCall returns a token waiting at a call activity, if any.
func nextCall(st *State) *Token {
	for i := range st.Tokens {
		if st.Tokens[i].Wait == WaitJob {
			return &st.Tokens[i]
		}
	}
	return nil
}

func nextTimer(st *State) int {
	best := -1
	for i, sb := range st.Subs {
		if sb.Kind != SubTimer {
			continue
		}
		if best < 0 || sb.Due.Before(st.Subs[best].Due) || (sb.Due.Equal(st.Subs[best].Due) && sb.Seq < st.Subs[best].Seq) {
			best = i
		}
	}
	return best
}

// waitingAt lists the catch events and tasks still waiting (not gateways,
// joins or sub-process containers).
func waitingAt(st *State) []string {
	out := []string{}
	add := func(id string) {
		for _, o := range out {
			if o == id {
				return
			}
		}
		out = append(out, id)
	}
	for _, t := range st.Tokens {
		switch t.Wait {
		case WaitEvent, WaitTask, WaitJob:
			add(t.Node)
		case WaitGateway:
			for _, sb := range st.Subs {
				if sb.Owner == t.ID {
					add(sb.Node)
				}
			}
		}
	}
	return out
}
