// Package engine moves tokens through a model.Definition. Its core is the
// deterministic function Step: given a definition, an instance's state and
// a command, it returns the next state, the effects the outside world must
// carry out (jobs, user tasks, timers, subscriptions, notifications) and the
// history entries of the transition. Step does no I/O and reads no clock:
// the time and every outside result arrive inside the Command, so a state
// can always be rebuilt from its commands.
//
// State is plain data (JSON-serialisable) so a store can persist it as the
// instance's checkpoint.
package engine

import (
	"strconv"
	"time"
)

// Status is an instance's lifecycle status.
type Status string

// Instance statuses, as the API shows them.
const (
	StatusRunning   Status = "RUNNING"
	StatusWaiting   Status = "WAITING"
	StatusCompleted Status = "COMPLETED"
	StatusFailed    Status = "FAILED"
	StatusCancelled Status = "CANCELLED"
)

// Ended reports whether the status is final.
func (s Status) Ended() bool { return s == StatusCompleted || s == StatusCancelled }

// WaitKind says what a token is waiting for.
type WaitKind string

// Wait kinds. A token with an empty wait is being moved inside a Step and
// never appears in a committed state.
const (
	WaitJob      WaitKind = "job"      // a job (service, send, rule, call...) identified by Ref
	WaitTask     WaitKind = "task"     // a user task identified by Ref
	WaitEvent    WaitKind = "event"    // catch event / receive task: its subscription(s)
	WaitGateway  WaitKind = "gateway"  // event-based gateway: the first of its events
	WaitJoin     WaitKind = "join"     // parallel or inclusive join, arrived by Via
	WaitScope    WaitKind = "scope"    // sub-process or multi-instance body: its children
	WaitIncident WaitKind = "incident" // an open incident identified by Ref
	// WaitCompensate: a compensation throw event runs its handlers (Comp).
	WaitCompensate WaitKind = "compensation"
)

// Token is one thread of control.
type Token struct {
	ID   int64    `json:"id"`
	Node string   `json:"node"`
	Wait WaitKind `json:"wait,omitempty"`
	// Ref identifies what the token waits for (job, task or incident id).
	Ref string `json:"ref,omitempty"`
	// Scope is the id of the token holding the enclosing sub-process or
	// multi-instance body; 0 at process level.
	Scope int64 `json:"scope,omitempty"`
	// Via is the flow the token arrived by (joins need it).
	Via string `json:"via,omitempty"`
	// Locals are variables visible only to this token's activity
	// (multi-instance element and loop counter).
	Locals map[string]any `json:"locals,omitempty"`
	// Loop tracks a multi-instance body or standard loop held by this token.
	Loop *Loop `json:"loop,omitempty"`
	// Iter is the 1-based number of the loop iteration this token runs
	// (0: not an iteration); it places the iteration's output element.
	Iter int `json:"iter,omitempty"`
	// Agent tracks an agent task held by this token.
	Agent *AgentRun `json:"agent,omitempty"`
	// Comp tracks the handlers a compensation throw event runs.
	Comp *CompRun `json:"comp,omitempty"`
	// AdHocCheck: the token's activity completed inside an ad-hoc
	// sub-process whose completion condition failed; a retry evaluates
	// the condition again instead of running the activity (adhoc.go).
	AdHocCheck bool `json:"adHocCheck,omitempty"`
}

// Loop is the progress of a multi-instance activity or a standard loop.
type Loop struct {
	Total     int   `json:"total"`
	Started   int   `json:"started"`
	Completed int   `json:"completed"`
	Items     []any `json:"items,omitempty"`
	// Outputs holds each instance's output element, in input order, for
	// the output collection.
	Outputs []any `json:"outputs,omitempty"`
	// Standard marks a standard loop: Total is unknown, each run starts
	// after the one before while the loop condition holds.
	Standard bool `json:"standard,omitempty"`
}

// SubKind is the kind of a subscription.
type SubKind string

// Subscription kinds.
const (
	SubTimer   SubKind = "timer"
	SubMessage SubKind = "message"
	SubSignal  SubKind = "signal"
	SubOther   SubKind = "other" // conditional and other events only delivered explicitly
)

// Sub is a subscription: a timer, message or signal a token is waiting
// for, on a catch event, a receive task, an event-based gateway's target or
// a boundary event.
type Sub struct {
	ID   string  `json:"id"`
	Kind SubKind `json:"kind"`
	// Node is the catching node (boundary event, catch event, receive task).
	Node string `json:"node"`
	// Owner is the token that waits (for a boundary event: the activity's token).
	Owner int64 `json:"owner"`
	// Name is the message or signal name.
	Name string `json:"name,omitempty"`
	// Key is the message correlation key.
	Key string `json:"key,omitempty"`
	// Due is when a timer fires.
	Due time.Time `json:"due,omitzero"`
	// Repeat is how many more times a cycle timer fires after this one (−1: forever).
	Repeat int `json:"repeat,omitempty"`
	// Every is a cycle timer's interval.
	Every time.Duration `json:"every,omitempty"`
	// Seq orders subscriptions by creation (earliest-started first).
	Seq int64 `json:"seq"`
	// Fired counts the deliveries of a subscription that stays open after
	// it fires (a non-interrupting event sub-process's start).
	Fired int `json:"fired,omitempty"`
	// Held records that a conditional event's condition was true when last
	// evaluated: it fires again only after turning false and true again.
	Held bool `json:"held,omitempty"`
}

// Incident is an open problem that stops a token until an operator (or a
// policy) resolves it.
type Incident struct {
	ID      string       `json:"id"`
	NodeID  string       `json:"nodeId"`
	Token   int64        `json:"token"`
	Kind    IncidentKind `json:"kind"`
	Message string       `json:"message"`
	Time    time.Time    `json:"time"`
	// Job is the job kind to recreate on retry ("" for nodes that run
	// inside a step, such as gateways and script tasks).
	Job string `json:"job,omitempty"`
}

// HistoryEntry is one line of an instance's execution history, in the
// seed's shape.
type HistoryEntry struct {
	NodeID    string    `json:"nodeId"`
	NodeType  string    `json:"nodeType,omitempty"`
	Action    Action    `json:"action"`
	Timestamp time.Time `json:"timestamp"`
	Result    any       `json:"result,omitempty"`
	Actor     string    `json:"actor,omitempty"`
}

// Action is what a history entry records.
type Action string

// History actions.
const (
	ActStarted    Action = "started"    // instance started (NodeID "")
	ActCompleted  Action = "completed"  // a flow element completed (or the instance, NodeID "")
	ActWaiting    Action = "waiting"    // a token started waiting at a node
	ActTaken      Action = "taken"      // a sequence flow was taken (NodeID is the flow id)
	ActIteration  Action = "iteration"  // one multi-instance iteration completed
	ActCancelled  Action = "cancelled"  // an element (or the instance) was cancelled
	ActTerminated Action = "terminated" // a terminate end event ended its scope
	ActIncident   Action = "incident"   // an incident opened
	ActResolved   Action = "resolved"   // an incident was resolved (retry, skip, move)
	ActFired      Action = "fired"      // a timer, message or signal was delivered
	ActError      Action = "error"      // a BPMN error was thrown
	ActEscalated  Action = "escalated"  // a BPMN escalation was thrown
	ActThrown     Action = "thrown"     // a message or signal was sent out (Result: its name and key)
	ActVariables  Action = "variables"  // variables were changed from outside
	ActMoved      Action = "moved"      // a token was moved by an operator
	ActOverdue    Action = "overdue"    // a user task passed its due date
	// ActCompensating: the compensation handler (Result.handler) of the
	// completed activity NodeID started; ActCompensated: it finished.
	ActCompensating Action = "compensationStarted"
	ActCompensated  Action = "compensationCompleted"
)

// State is an instance's complete runtime state: the checkpoint.
type State struct {
	InstanceID        string         `json:"instanceId"`
	DefinitionID      string         `json:"definitionId"`
	DefinitionVersion int            `json:"definitionVersion"`
	BusinessKey       string         `json:"businessKey,omitempty"`
	Status            Status         `json:"status"`
	Variables         map[string]any `json:"variables"`
	Tokens            []Token        `json:"tokens,omitempty"`
	Subs              []Sub          `json:"subs,omitempty"`
	Incidents         []Incident     `json:"incidents,omitempty"`
	// Compensable are the completed activities that can still be
	// compensated, in order of completion (compensation.go).
	Compensable []Compensable `json:"compensable,omitempty"`
	// ToolCalls counts the calls agent tasks ran per "node/tool", for
	// tool guards' maxCalls (guard.go).
	ToolCalls map[string]int `json:"toolCalls,omitempty"`
	// Seq is the last id handed out (tokens, jobs, tasks, subscriptions).
	Seq int64 `json:"seq"`
	// Simulate marks a token-simulation instance: every task completes at
	// once with no output and no script runs.
	Simulate  bool      `json:"simulate,omitempty"`
	StartedAt time.Time `json:"startedAt"`
	EndedAt   time.Time `json:"endedAt,omitzero"`
	// Trace is the W3C traceparent of the instance's root span, set by
	// the runner when tracing is on, so that every later transition and
	// job joins the instance's trace, across restarts. Step never reads
	// or changes it.
	Trace string `json:"trace,omitempty"`

	// History holds the entries appended since the caller last drained it.
	// A store moves them into its own append-only history and clears the
	// slice before saving the snapshot.
	History []HistoryEntry `json:"history,omitempty"`

	// queue is Step's work list, kept between steps of an in-memory
	// instance to save an allocation per step. Not part of the state.
	queue []int64
}

// Token returns a pointer to the token with the given id, or nil.
func (s *State) Token(id int64) *Token {
	for i := range s.Tokens {
		if s.Tokens[i].ID == id {
			return &s.Tokens[i]
		}
	}
	return nil
}

// CurrentNodeIDs returns the distinct nodes holding tokens, in token order.
func (s *State) CurrentNodeIDs() []string {
	out := make([]string, 0, len(s.Tokens))
outer:
	for _, t := range s.Tokens {
		for _, o := range out {
			if o == t.Node {
				continue outer
			}
		}
		out = append(out, t.Node)
	}
	return out
}

// refID is the string id of a job, task, subscription or incident.
func (s *State) refID(seq int64) string {
	return s.InstanceID + "-" + strconv.FormatInt(seq, 10)
}

func (s *State) next() int64 {
	s.Seq++
	return s.Seq
}
