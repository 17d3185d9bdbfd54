// Package model holds Baton's workflow graph: the immutable Definition that
// both workflow JSON and BPMN 2.0 XML compile to, and its validation with
// located errors.
//
// A Definition is built in two phases. A parser (ParseJSON here, or
// model/bpmn for XML) fills the exported fields; Build then validates the
// graph, compiles every expression and fills the indexes the engine walks.
// After Build a Definition must not be modified: it is shared by every
// instance that runs on it.
package model

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/batonhq/baton/internal/expr"
)

// NodeType names a kind of flow element. The values are the BPMN element
// names (camelCase), which is also how workflow JSON spells them.
type NodeType string

// The node types Baton knows.
const (
	StartEvent             NodeType = "startEvent"
	EndEvent               NodeType = "endEvent"
	IntermediateCatchEvent NodeType = "intermediateCatchEvent"
	IntermediateThrowEvent NodeType = "intermediateThrowEvent"
	BoundaryEvent          NodeType = "boundaryEvent"

	Task             NodeType = "task"
	UserTask         NodeType = "userTask"
	ScriptTask       NodeType = "scriptTask"
	ServiceTask      NodeType = "serviceTask"
	SendTask         NodeType = "sendTask"
	ReceiveTask      NodeType = "receiveTask"
	ManualTask       NodeType = "manualTask"
	BusinessRuleTask NodeType = "businessRuleTask"
	CallActivity     NodeType = "callActivity"
	SubProcess       NodeType = "subProcess"
	// AgentTask is an ad-hoc sub-process driven by a language model: its
	// child activities are tools the model calls, one at a time, until it
	// declares the goal met (BPMN: adHocSubProcess with baton:agent).
	AgentTask NodeType = "agentTask"
	// AdHocSubProcess is an ad-hoc sub-process (BPMN adHocSubProcess, as
	// Camunda 8.7+ runs it): the activities to run are chosen on entry
	// (AdHoc.ActiveElements, else those without incoming flows), and a
	// completion condition may end it early (adhoc.go).
	AdHocSubProcess NodeType = "adHocSubProcess"

	ExclusiveGateway  NodeType = "exclusiveGateway"
	ParallelGateway   NodeType = "parallelGateway"
	InclusiveGateway  NodeType = "inclusiveGateway"
	EventBasedGateway NodeType = "eventBasedGateway"

	// Artifacts: imported and exported, never executed, never connected by
	// sequence flows.
	DataObject          NodeType = "dataObject"
	DataObjectReference NodeType = "dataObjectReference"
	DataStoreReference  NodeType = "dataStoreReference"
)

// nodeTypes lists every known type, for validation and the JSON Schema.
var nodeTypes = map[NodeType]bool{
	StartEvent: true, EndEvent: true, IntermediateCatchEvent: true, IntermediateThrowEvent: true,
	BoundaryEvent: true, Task: true, UserTask: true, ScriptTask: true, ServiceTask: true,
	SendTask: true, ReceiveTask: true, ManualTask: true, BusinessRuleTask: true,
	CallActivity: true, SubProcess: true, AgentTask: true, AdHocSubProcess: true, ExclusiveGateway: true, ParallelGateway: true,
	InclusiveGateway: true, EventBasedGateway: true, DataObject: true,
	DataObjectReference: true, DataStoreReference: true,
}

// KnownType reports whether t is a node type Baton understands.
func KnownType(t NodeType) bool { return nodeTypes[t] }

// IsActivity reports whether nodes of type t are activities (tasks,
// sub-processes, call activities): the things boundary events attach to.
func (t NodeType) IsActivity() bool {
	switch t {
	case Task, UserTask, ScriptTask, ServiceTask, SendTask, ReceiveTask, ManualTask,
		BusinessRuleTask, CallActivity, SubProcess, AgentTask, AdHocSubProcess:
		return true
	}
	return false
}

// IsScope reports whether nodes of type t hold child nodes (sub-processes,
// ad-hoc sub-processes and agent tasks).
func (t NodeType) IsScope() bool { return t == SubProcess || t == AgentTask || t == AdHocSubProcess }

// IsGateway reports whether t is a gateway type.
func (t NodeType) IsGateway() bool {
	switch t {
	case ExclusiveGateway, ParallelGateway, InclusiveGateway, EventBasedGateway:
		return true
	}
	return false
}

// IsArtifact reports whether t is a data artifact that takes no part in
// execution.
func (t NodeType) IsArtifact() bool {
	return t == DataObject || t == DataObjectReference || t == DataStoreReference
}

// EventKind says what an event waits for or throws. The empty kind is the
// BPMN "none" event.
type EventKind string

// Event kinds.
const (
	EventNone        EventKind = ""
	EventTimer       EventKind = "timer"
	EventMessage     EventKind = "message"
	EventSignal      EventKind = "signal"
	EventError       EventKind = "error"
	EventEscalation  EventKind = "escalation"
	EventTerminate   EventKind = "terminate"
	EventLink        EventKind = "link"
	EventConditional EventKind = "conditional"
	EventCompensate  EventKind = "compensate"
)

// Timer is a BPMN timer definition: exactly one of Duration (ISO 8601
// duration, "PT5M"), Date (ISO 8601 date-time) or Cycle ("R3/PT10M") is set.
// Each may also be an expression ("=due" or "${due}") evaluated when the
// timer starts.
type Timer struct {
	Duration string `json:"duration,omitempty"`
	Date     string `json:"date,omitempty"`
	Cycle    string `json:"cycle,omitempty"`
}

// Event holds the event definition of an event node.
type Event struct {
	Kind EventKind `json:"kind,omitempty"`
	// Timer is set when Kind is EventTimer.
	Timer *Timer `json:"timer,omitempty"`
	// Name is the message, signal, link or escalation name.
	Name string `json:"name,omitempty"`
	// CorrelationKey, when it is an expression ("=orderId", "${orderId}"),
	// is evaluated when a message catch event starts waiting; otherwise it
	// is a literal key. A message must carry the same key to be delivered.
	CorrelationKey string `json:"correlationKey,omitempty"`
	// ErrorCode is the BPMN error code thrown by an error end event or
	// caught by an error boundary event ("" catches every error).
	ErrorCode string `json:"errorCode,omitempty"`
	// Condition is a conditional event's condition, an expression
	// re-evaluated whenever the variables may have changed; the event
	// fires when it becomes true.
	Condition string `json:"condition,omitempty"`
	// ActivityRef, on a compensation throw event, names the one activity
	// of the scope to compensate; "" compensates every completed activity
	// of the scope.
	ActivityRef string `json:"activityRef,omitempty"`
	// WaitForCompletion, on a compensation throw event: when true (the
	// default, nil) the event waits until every handler has finished.
	WaitForCompletion *bool `json:"waitForCompletion,omitempty"`
	// Source, on a message start event, intermediate message catch
	// event or receive task, subscribes it to a broker destination
	// (broker.go); Sink, on a message throw event or send task, publishes
	// its message to one.
	Source *BrokerSource `json:"source,omitempty"`
	Sink   *BrokerSink   `json:"sink,omitempty"`
	// Webhook, on the same catches as Source, declares an HTTP endpoint
	// /hooks/{path} whose requests start an instance or deliver the
	// message (webhook.go).
	Webhook *Webhook `json:"webhook,omitempty"`
}

// Waits reports whether a compensation throw event waits for its handlers
// (waitForCompletion, default true).
func (e *Event) Waits() bool { return e == nil || e.WaitForCompletion == nil || *e.WaitForCompletion }

// Mapping copies a value into a variable: Target receives the value of the
// expression Source.
type Mapping struct {
	Source string `json:"source"`
	Target string `json:"target"`
}

// Retry is a job's retry policy. Zero fields take the runner's defaults,
// but for Max: a written "max": 0 means no retry at all (see Attempts).
type Retry struct {
	Max        int     `json:"max,omitempty"`
	Backoff    string  `json:"backoff,omitempty"`    // ISO 8601 duration of the first wait
	Factor     float64 `json:"factor,omitempty"`     // multiplier per attempt
	MaxBackoff string  `json:"maxBackoff,omitempty"` // cap on one wait

	maxSet bool // Max was written, even as 0
}

// SetMax sets the number of retries; 0 means none.
func (r *Retry) SetMax(n int) { r.Max, r.maxSet = n, true }

// Attempts returns how many times the job may run in all (the first run
// and its retries), or 0 when the policy leaves it to the runner.
func (r *Retry) Attempts() int {
	if r == nil || (!r.maxSet && r.Max <= 0) {
		return 0
	}
	return r.Max + 1
}

// retryJSON is Retry on the wire, with Max present whenever it was set.
type retryJSON struct {
	Max        *int    `json:"max,omitempty"`
	Backoff    string  `json:"backoff,omitempty"`
	Factor     float64 `json:"factor,omitempty"`
	MaxBackoff string  `json:"maxBackoff,omitempty"`
}

// UnmarshalJSON records whether max was written, so that "max": 0 means
// no retry rather than the default.
func (r *Retry) UnmarshalJSON(data []byte) error {
	var w retryJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			te.Offset = 0 // relative to the retry object: let the caller place it
		}
		return err
	}
	*r = Retry{Backoff: w.Backoff, Factor: w.Factor, MaxBackoff: w.MaxBackoff}
	if w.Max != nil {
		r.SetMax(*w.Max)
	}
	return nil
}

// MarshalJSON writes max when it was set, 0 included.
func (r Retry) MarshalJSON() ([]byte, error) {
	w := retryJSON{Backoff: r.Backoff, Factor: r.Factor, MaxBackoff: r.MaxBackoff}
	if r.maxSet || r.Max != 0 {
		w.Max = &r.Max
	}
	return json.Marshal(w)
}

// HTTPCall configures a service task that calls an HTTP endpoint.
type HTTPCall struct {
	Method  string            `json:"method,omitempty"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Query   map[string]string `json:"query,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
	Timeout string            `json:"timeout,omitempty"`
	// Response maps the answer into variables: each Source is an
	// expression over response.status, response.headers (lower-case
	// names) and response.body. Without it a JSON object answer is merged
	// into the variables.
	Response []Mapping `json:"response,omitempty"`
	// Errors maps status codes ("404") or classes ("4xx") to BPMN error
	// codes that error boundary events catch.
	Errors map[string]string `json:"errors,omitempty"`
	// RetryOn lists the status codes that are retried (default 408, 429
	// and every 5xx); other non-2xx answers fail at once.
	RetryOn []int `json:"retryOn,omitempty"`
}

// Notify configures a send task.
type Notify struct {
	Channel  string `json:"channel"`
	To       string `json:"to,omitempty"`
	Subject  string `json:"subject,omitempty"`
	Template string `json:"template,omitempty"`
	Body     string `json:"body,omitempty"`
}

// MultiInstance marks an activity that runs once per item or a fixed
// number of times.
type MultiInstance struct {
	Sequential bool `json:"sequential,omitempty"`
	// Cardinality is an expression giving the number of instances.
	Cardinality string `json:"cardinality,omitempty"`
	// Collection is an expression giving a list; one instance runs per item.
	Collection string `json:"collection,omitempty"`
	// ElementVariable receives the item inside each instance.
	ElementVariable string `json:"elementVariable,omitempty"`
	// CompletionCondition, when true after an instance completes, ends the
	// whole activity early (remaining instances are cancelled).
	CompletionCondition string `json:"completionCondition,omitempty"`
	// OutputCollection names the variable that receives, when the
	// activity completes, the list of OutputElement values, one per
	// instance in input order (zeebe:loopCharacteristics outputCollection).
	OutputCollection string `json:"outputCollection,omitempty"`
	// OutputElement is the expression evaluated in each instance when it
	// completes; its value goes to the instance's place in
	// OutputCollection (zeebe:loopCharacteristics outputElement).
	OutputElement string `json:"outputElement,omitempty"`
}

// LLMDecision marks an exclusive gateway whose route a language model
// chooses (docs/llm.md).
type LLMDecision struct {
	// Mode: "decide" (default) asks the model every time; "hybrid" takes
	// the first true condition and asks only when none holds; "shadow"
	// routes by the conditions and asks the model beside them, recording
	// whether it agreed.
	Mode string `json:"mode,omitempty"`
	// Question is what the gateway decides, in words.
	Question string `json:"question,omitempty"`
	// Model overrides the configured model for this gateway.
	Model string `json:"model,omitempty"`
	// MinConfidence (0..1): a less confident answer goes to a person.
	MinConfidence float64 `json:"minConfidence,omitempty"`
	// ReviewGroups are the candidate groups of the human review task.
	ReviewGroups []string `json:"reviewGroups,omitempty"`
}

// Agent configures an agent task (docs/llm.md): the model works toward
// Goal by calling the task's child activities as tools.
type Agent struct {
	// Goal is what the agent must achieve, in words.
	Goal string `json:"goal"`
	// MaxSteps caps the activities the agent may run (default 10).
	MaxSteps int `json:"maxSteps,omitempty"`
	// MaxTokens caps the tokens (input + output) its calls may spend;
	// 0: no cap beyond the instance and definition budgets.
	MaxTokens int `json:"maxTokens,omitempty"`
	// TimeLimit caps the time from the agent's start (ISO 8601 or Go
	// duration); "" means none.
	TimeLimit string `json:"timeLimit,omitempty"`
	// Model overrides the configured model for this agent.
	Model string `json:"model,omitempty"`
	// Provider names the provider the model belongs to ("anthropic",
	// "openai"...); the model is used only when it names the configured
	// provider (docs/llm.md). "" means the configured one.
	Provider string `json:"provider,omitempty"`
	// Instructions (a system prompt) are added to Baton's own; like Goal
	// they may be an expression ("=...") evaluated when the agent starts.
	Instructions string `json:"instructions,omitempty"`
	// Guards are checked before each tool call (guard.go).
	Guards []ToolGuard `json:"guards,omitempty"`
	// MCP names MCP servers (configured on the server, never by a
	// variable) whose tools the agent is offered next to its activities.
	MCP []string `json:"mcp,omitempty"`
}

// DefaultAgentSteps is an agent task's step limit when none is set.
const DefaultAgentSteps = 10

// Steps returns the agent's step limit.
func (a *Agent) Steps() int {
	if a == nil || a.MaxSteps <= 0 {
		return DefaultAgentSteps
	}
	return a.MaxSteps
}

// ProcessLLM is a definition's language-model policy (docs/llm.md).
type ProcessLLM struct {
	// InstanceBudget caps the tokens one instance may spend on model calls
	// (overrides the server's BATON_LLM_INSTANCE_BUDGET); 0: the server's.
	InstanceBudget int `json:"instanceBudget,omitempty"`
	// DailyBudget caps the tokens all instances of this definition (every
	// version) may spend in 24 hours; 0: no cap.
	DailyBudget int `json:"dailyBudget,omitempty"`
	// AutoRetryAdvice applies incident advice to retry as is without an
	// operator, at most MaxAutoRetries times per instance and node. Advice
	// to change variables, skip or escalate always waits for a person.
	AutoRetryAdvice bool `json:"autoRetryAdvice,omitempty"`
	MaxAutoRetries  int  `json:"maxAutoRetries,omitempty"`
}

// DefaultMaxAutoRetries is how often advice to retry applies itself per
// instance and node when MaxAutoRetries is not set.
const DefaultMaxAutoRetries = 3

// AutoRetries returns how often advice to retry may apply itself per
// instance and node (0 when the policy does not allow it).
func (p *ProcessLLM) AutoRetries() int {
	switch {
	case p == nil || !p.AutoRetryAdvice:
		return 0
	case p.MaxAutoRetries <= 0:
		return DefaultMaxAutoRetries
	}
	return p.MaxAutoRetries
}

// Node is one flow element.
type Node struct {
	ID          string   `json:"id"`
	Type        NodeType `json:"type"`
	Name        string   `json:"name,omitempty"`
	Description string   `json:"description,omitempty"`

	// Parent is the id of the enclosing sub-process; "" at process level.
	Parent string `json:"parent,omitempty"`

	// Event is the event definition of an event node (nil for "none").
	Event *Event `json:"event,omitempty"`
	// AttachedTo is the activity a boundary event sits on.
	AttachedTo string `json:"attachedTo,omitempty"`
	// NonInterrupting is set on boundary events (and event sub-process
	// starts) that leave their activity running when they fire.
	NonInterrupting bool `json:"nonInterrupting,omitempty"`
	// TriggeredByEvent makes a sub-process an event sub-process: it has no
	// sequence flows; its one start event (timer, message, signal, error,
	// escalation or conditional) starts it while the enclosing scope runs.
	TriggeredByEvent bool `json:"triggeredByEvent,omitempty"`
	// Compensation, on a compensation boundary event, is the id of its
	// compensation handler: an activity with ForCompensation set in the
	// same scope (BPMN: the association from the event to the handler).
	Compensation string `json:"compensation,omitempty"`
	// ForCompensation marks a compensation handler (BPMN
	// isForCompensation): it has no sequence flows and runs only when the
	// activity its compensation boundary event sits on is compensated.
	ForCompensation bool `json:"isForCompensation,omitempty"`

	// Default is the id of the default outgoing flow of a gateway or
	// activity.
	Default string `json:"default,omitempty"`

	// Script task.
	Script         string `json:"script,omitempty"`
	ScriptLanguage string `json:"scriptLanguage,omitempty"`
	ResultVariable string `json:"resultVariable,omitempty"`

	// Service / send / business-rule tasks handled by a job worker of this
	// type (Zeebe taskDefinition type, Camunda external topic).
	TaskType string    `json:"taskType,omitempty"`
	HTTP     *HTTPCall `json:"http,omitempty"`
	Notify   *Notify   `json:"notify,omitempty"`
	Retry    *Retry    `json:"retry,omitempty"`
	// DecisionRef names a decision table for a business rule task.
	DecisionRef string `json:"decisionRef,omitempty"`
	// Rules are business rules in natural language that a language model
	// applies (a business rule task without a decision table); its answer
	// must match OutputSchema (a JSON Schema of an object), and is merged
	// into the variables (or stored in ResultVariable).
	Rules        string          `json:"rules,omitempty"`
	OutputSchema json.RawMessage `json:"outputSchema,omitempty"`
	// CalledElement names the process a call activity starts.
	CalledElement string `json:"calledElement,omitempty"`

	// User task.
	Assignee        string          `json:"assignee,omitempty"`
	CandidateUsers  []string        `json:"candidateUsers,omitempty"`
	CandidateGroups []string        `json:"candidateGroups,omitempty"`
	DueIn           string          `json:"dueIn,omitempty"`
	FollowUpIn      string          `json:"followUpIn,omitempty"`
	FormKey         string          `json:"formKey,omitempty"`
	Form            json.RawMessage `json:"form,omitempty"`
	// Priority orders the task list: 0 to 100, higher first (50 when
	// empty), or an expression that yields one.
	Priority string `json:"priority,omitempty"`

	// Input mappings are evaluated when the activity starts; output
	// mappings when it completes, over the variables plus its result.
	Inputs  []Mapping `json:"inputs,omitempty"`
	Outputs []Mapping `json:"outputs,omitempty"`

	MultiInstance *MultiInstance `json:"multiInstance,omitempty"`
	// Loop makes the activity a standard loop (BPMN
	// standardLoopCharacteristics); see loop.go.
	Loop *StandardLoop `json:"loop,omitempty"`

	// LLM makes an exclusive gateway an LLM decision.
	LLM *LLMDecision `json:"llm,omitempty"`

	// AdHoc configures an ad-hoc sub-process.
	AdHoc *AdHoc `json:"adHoc,omitempty"`

	// Agent configures an agent task. Its OutputSchema, if set, is the
	// schema of the result the agent hands back when it finishes.
	Agent *Agent `json:"agent,omitempty"`
	// InputSchema is the JSON Schema (an object schema) of the input the
	// agent gives this activity when it calls it as a tool; the input
	// becomes the activity's local variables.
	InputSchema json.RawMessage `json:"inputSchema,omitempty"`

	// Extensions keeps vendor attributes and properties Baton does not
	// interpret (namespace-prefixed key → value), so export keeps them.
	Extensions map[string]string `json:"extensions,omitempty"`

	// Line and Column locate the node in its source (1-based; 0 when
	// unknown).
	Line   int `json:"-"`
	Column int `json:"-"`

	// Filled by Build.
	idx        int
	incoming   []*Edge
	outgoing   []*Edge
	boundaries []*Node
	children   []*Node
	parent     *Node
	attached   *Node
	defaultE   *Edge
	exprs      map[string]*expr.Program
	starts     []*Node
	eventSubs  []*Node         // event sub-processes directly inside this scope
	handler    *Node           // an activity's compensation handler
	compESP    *Node           // a sub-process's compensation event sub-process
	camAgent   *Agent          // agent settings read from a Camunda AI Agent's inputs
	camSchema  json.RawMessage // the result schema its response format implies
	camJSON    bool            // its response format is json
	toolParams []ToolParam     // an agent tool's fromAi arguments
}

// Edge is a sequence flow.
type Edge struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	Source      string `json:"source"`
	Target      string `json:"target"`
	// Condition is an expression; "" means always taken.
	Condition string `json:"condition,omitempty"`
	// Language of the condition: "" (Baton expressions, also FEEL-style
	// comparisons) or "javascript" (evaluated in the script sandbox; the
	// value of the last expression, or of next(err, value), is the result).
	Language string `json:"language,omitempty"`

	Line   int `json:"-"`
	Column int `json:"-"`

	// Filled by Build.
	idx    int
	source *Node
	target *Node
	cond   *expr.Program
	js     bool
}

// Definition is one workflow: an immutable graph after Build.
type Definition struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	Version     int    `json:"version,omitempty"`
	// LLM sets the definition's language-model policy: budgets and which
	// incident advice applies itself.
	LLM *ProcessLLM `json:"llm,omitempty"`
	// UniqueBusinessKey makes an instance's business key unique among
	// the definition's instances that have not ended: a second start with
	// a key a running, waiting or failed instance holds is refused.
	UniqueBusinessKey bool `json:"uniqueBusinessKey,omitempty"`
	// ExpressionLanguage "feel" makes bare expressions FEEL. "=..." is
	// FEEL and "${...}" expr-lang whatever it says (docs/expressions.md).
	ExpressionLanguage string `json:"expressionLanguage,omitempty"`
	// VersionTag labels the definition's versions for call activities
	// that bind by tag (zeebe:versionTag; model.BindingVersionTag).
	VersionTag string `json:"versionTag,omitempty"`
	// Retention is how long the definition's instances are kept after
	// they end ("30d", "12h", "P30D"; ParseRetention): the retention
	// purge removes them with their history once it has passed. Empty:
	// the server's --retention applies.
	Retention string `json:"retention,omitempty"`
	// TaskListColumns are the columns the task inbox shows for this
	// definition's tasks, each an expression over the instance's
	// variables (tasklist.go).
	TaskListColumns []TaskListColumn `json:"taskListColumns,omitempty"`

	Nodes []*Node `json:"nodes"`
	Edges []*Edge `json:"edges"`

	// Source is a label for error messages (a file name); not serialised.
	Source string `json:"-"`
	// Warnings are non-fatal findings of Build (unreachable nodes...).
	Warnings []Problem `json:"-"`

	built     bool
	fromJSON  bool // read by ParseJSON: problems carry JSON paths
	nodeByID  map[string]*Node
	edgeByID  map[string]*Edge
	top       []*Node // process-level nodes
	starts    []*Node // process-level start events, document order
	eventSubs []*Node // process-level event sub-processes
	reach     [][]bool
	columns   []*expr.Program // TaskListColumns compiled, by index
}
