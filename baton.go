// Package baton holds the public vocabulary of Baton's REST API: the JSON
// documents the server sends and accepts. The server (internal/rest) and Go
// clients use these same types, so the two cannot drift apart.
//
// Ids are strings. Times are RFC 3339 in UTC. Optional fields are left out
// of the JSON when empty; lists and the variables object are never null.
package baton

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Instance statuses.
const (
	StatusRunning   = "RUNNING"
	StatusWaiting   = "WAITING"
	StatusCompleted = "COMPLETED"
	StatusFailed    = "FAILED"
	StatusCancelled = "CANCELLED"
)

// Instance is one running or ended process instance, in the seed's shape:
// instanceId, status, currentNodeIds, processData, executionHistory,
// checkpoints.
type Instance struct {
	InstanceID        string `json:"instanceId" doc:"Instance id."`
	DefinitionID      string `json:"definitionId" doc:"Id of the workflow definition the instance runs."`
	DefinitionVersion int    `json:"definitionVersion" doc:"Version of the definition the instance runs; only a migration changes it."`
	BusinessKey       string `json:"businessKey,omitempty" doc:"Caller's key for the instance (an order number, say)."`
	Status            string `json:"status" enum:"RUNNING,WAITING,COMPLETED,FAILED,CANCELLED" doc:"Lifecycle status."`
	// CurrentNodeIDs are the nodes holding tokens, in token order.
	CurrentNodeIDs []string `json:"currentNodeIds" doc:"Nodes that hold a token now."`
	// ProcessData is the instance's variables. Never null.
	ProcessData map[string]any `json:"processData" doc:"The instance variables."`
	// ExecutionHistory lists every history entry, oldest first.
	ExecutionHistory []HistoryEntry `json:"executionHistory" doc:"Every step the instance took, oldest first."`
	// Checkpoints lists the committed transitions, oldest first.
	Checkpoints []Checkpoint `json:"checkpoints" doc:"One entry per committed transition (checkpoint), oldest first."`
	// Tokens are the active tokens, for instance modification.
	Tokens []Token `json:"tokens,omitempty" doc:"The active tokens (element instances), in order."`
	// Incidents lists the open incidents (status FAILED).
	Incidents []Incident `json:"incidents,omitempty" doc:"Open incidents that stop the instance."`
	CreatedAt time.Time  `json:"createdAt"`
	UpdatedAt time.Time  `json:"updatedAt"`
	EndedAt   *time.Time `json:"endedAt,omitempty" doc:"When the instance completed or was cancelled."`
	// Parent and Children link call activities to the instances they
	// started (GET /api/runtime/instance/{id} only).
	Parent   *CallLink  `json:"parent,omitempty" doc:"The instance whose call activity started this one."`
	Children []CallLink `json:"children,omitempty" doc:"The instances this instance's call activities started, by id."`
}

// CallLink names an instance at the other end of a call activity.
type CallLink struct {
	InstanceID   string `json:"instanceId"`
	DefinitionID string `json:"definitionId,omitempty"`
	// NodeID is the call activity (in the parent).
	NodeID string `json:"nodeId" doc:"The call activity, in the calling instance."`
	Status string `json:"status,omitempty" enum:"RUNNING,WAITING,COMPLETED,FAILED,CANCELLED"`
}

// HistoryEntry is one line of an instance's execution history.
type HistoryEntry struct {
	NodeID    string    `json:"nodeId" doc:"Node or sequence flow id; empty for the instance itself."`
	NodeType  string    `json:"nodeType,omitempty"`
	Action    string    `json:"action" doc:"started, completed, waiting, taken, cancelled, incident, resolved, fired, error, variables, moved, ..."`
	Timestamp time.Time `json:"timestamp"`
	Result    any       `json:"result,omitempty" doc:"What the step produced (job output, submitted variables, error)."`
	Actor     string    `json:"actor,omitempty" doc:"Who caused the step: a user, a worker, timer, system."`
}

// Checkpoint is one committed transition of an instance: its state snapshot
// at that version was written atomically with the history entries of the
// transition.
type Checkpoint struct {
	Version   int64     `json:"version" doc:"Instance version after the transition (1 for the start)."`
	Timestamp time.Time `json:"timestamp"`
	Status    string    `json:"status,omitempty" doc:"Instance status after the transition, where known."`
}

// InstanceSummary is an instance in a list: no variables, no history
// (GET /api/runtime/instance/{id} has them).
type InstanceSummary struct {
	InstanceID        string     `json:"instanceId"`
	DefinitionID      string     `json:"definitionId"`
	DefinitionVersion int        `json:"definitionVersion"`
	BusinessKey       string     `json:"businessKey,omitempty"`
	Status            string     `json:"status"`
	CreatedAt         time.Time  `json:"createdAt"`
	UpdatedAt         time.Time  `json:"updatedAt"`
	EndedAt           *time.Time `json:"endedAt,omitempty"`
}

// InstanceList is a page of instances. Next, when set, is the cursor of the
// next page (pass it as ?after=).
type InstanceList struct {
	Instances []InstanceSummary `json:"instances"`
	Next      string            `json:"next,omitempty"`
	// Total counts every instance the filter matches, on all pages.
	Total int `json:"total"`
}

// History is an instance's execution history and checkpoints.
type History struct {
	InstanceID       string         `json:"instanceId"`
	ExecutionHistory []HistoryEntry `json:"executionHistory"`
	Checkpoints      []Checkpoint   `json:"checkpoints"`
}

// Task states.
const (
	TaskOpen      = "open"
	TaskCompleted = "completed"
	TaskCancelled = "cancelled"
)

// Task is a user task waiting for (or done by) a person.
type Task struct {
	ID              string     `json:"id"`
	InstanceID      string     `json:"instanceId"`
	DefinitionID    string     `json:"definitionId"`
	NodeID          string     `json:"nodeId"`
	Name            string     `json:"name"`
	Assignee        string     `json:"assignee" doc:"User the task is assigned to; empty when unassigned."`
	CandidateGroups []string   `json:"candidateGroups"`
	CandidateUsers  []string   `json:"candidateUsers,omitempty"`
	DueAt           *time.Time `json:"dueAt,omitempty"`
	CreatedAt       time.Time  `json:"createdAt"`
	State           string     `json:"state,omitempty" enum:"open,completed,cancelled"`
	Priority        int        `json:"priority" doc:"0 to 100, higher first; 50 unless the user task sets one."`
	CompletedAt     *time.Time `json:"completedAt,omitempty"`
	CompletedBy     string     `json:"completedBy,omitempty"`
	// BusinessKey, ProcessName and Columns are filled in task lists.
	BusinessKey string       `json:"businessKey,omitempty" doc:"The instance's business key (in task lists)."`
	ProcessName string       `json:"processName,omitempty" doc:"The name of the instance's definition version (in task lists)."`
	Columns     []TaskColumn `json:"columns,omitempty" doc:"The definition's task list columns with this task's values (in task lists)."`
}

// TaskColumn is one task list column of a task: the definition's label
// and the value of its expression for the task (null when the variables
// do not give one).
type TaskColumn struct {
	Label string `json:"label"`
	Value any    `json:"value"`
}

// TaskList is a page of tasks. Next, when set, is the cursor of the next
// page (pass it as ?after=).
type TaskList struct {
	Tasks []Task `json:"tasks"`
	Next  string `json:"next,omitempty"`
}

// StartRequest starts an instance of a deployed definition.
type StartRequest struct {
	DefinitionID string         `json:"definitionId" minLength:"1" doc:"Id of a deployed definition."`
	Version      int            `json:"version,omitempty" minimum:"0" doc:"Definition version; 0 or absent for the latest."`
	Variables    map[string]any `json:"variables,omitempty" doc:"Initial variables."`
	BusinessKey  string         `json:"businessKey,omitempty"`
}

// CompleteTaskRequest completes an open user task.
type CompleteTaskRequest struct {
	TaskID    string         `json:"taskId" minLength:"1"`
	Variables map[string]any `json:"variables,omitempty" doc:"Variables the task submits (the form's values)."`
}

// Recover actions.
const (
	RecoverRetry = "retry"
	RecoverSkip  = "skip"
	RecoverMove  = "move"
)

// RecoverRequest recovers a FAILED instance from its last checkpoint.
type RecoverRequest struct {
	IncidentID string         `json:"incidentId,omitempty" doc:"One incident to resolve; default every open incident."`
	Action     string         `json:"action,omitempty" enum:"retry,skip,move" doc:"retry (default) runs the failed node again; skip completes it without running it; move sends the token to target."`
	Target     string         `json:"target,omitempty" doc:"Node to move to (action move)."`
	Variables  map[string]any `json:"variables,omitempty" doc:"Variables to change before retrying."`
}

// MessageRequest delivers a message to the instance waiting for it.
type MessageRequest struct {
	Name           string         `json:"name" minLength:"1" doc:"Message name."`
	CorrelationKey string         `json:"correlationKey,omitempty"`
	MessageID      string         `json:"messageId,omitempty" doc:"Makes delivery exactly-once: a second message with the same id is refused."`
	Variables      map[string]any `json:"variables,omitempty"`
	TimeToLive     string         `json:"timeToLive,omitempty" doc:"ISO 8601 duration. When no instance waits for the message yet, keep it this long for a catch event that opens later (answer 202)."`
}

// SignalRequest broadcasts a signal to every instance waiting for it and
// to the signal start events of that name.
type SignalRequest struct {
	Name      string         `json:"name" minLength:"1" doc:"Signal name."`
	SignalID  string         `json:"signalId,omitempty" doc:"Makes the broadcast exactly-once per receiver: repeated with the same id, it reaches only the receivers it has not reached yet."`
	Variables map[string]any `json:"variables,omitempty"`
}

// SignalResult tells what a broadcast signal reached.
type SignalResult struct {
	// Delivered counts the waiting instances that caught the signal.
	Delivered int `json:"delivered"`
	// Started lists the instances that signal start events started.
	Started []string `json:"started"`
}

// MessageResult answers a message: the instance it was delivered to, or,
// for a message kept for later (202), buffered and its id.
type MessageResult struct {
	*Instance
	Buffered  bool      `json:"buffered,omitempty"`
	MessageID string    `json:"messageId,omitempty"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// Definition is one deployed version of a workflow.
type Definition struct {
	ID         string    `json:"id"`
	Version    int       `json:"version"`
	Name       string    `json:"name"`
	Format     string    `json:"format" enum:"json,bpmn"`
	DeployedAt time.Time `json:"deployedAt"`
	DeployedBy string    `json:"deployedBy,omitempty"`
	Hash       string    `json:"hash" doc:"Hex SHA-256 of the source."`
}

// DefinitionList lists definitions.
type DefinitionList struct {
	Definitions []Definition `json:"definitions"`
}

// DeployResult answers a deployment. Created is false when identical
// content was already the latest version.
type DeployResult struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
	Created bool   `json:"created"`
}

// Incident states.
const (
	IncidentOpen     = "open"
	IncidentResolved = "resolved"
)

// Incident is a problem that stops an instance until it is recovered.
type Incident struct {
	ID           string     `json:"id"`
	InstanceID   string     `json:"instanceId"`
	DefinitionID string     `json:"definitionId,omitempty"`
	NodeID       string     `json:"nodeId"`
	JobID        string     `json:"jobId,omitempty"`
	Kind         string     `json:"kind" doc:"expression, script, gateway, job, error, ..."`
	Message      string     `json:"message"`
	Attempts     int        `json:"attempts,omitempty"`
	State        string     `json:"state" enum:"open,resolved"`
	CreatedAt    time.Time  `json:"createdAt"`
	ResolvedAt   *time.Time `json:"resolvedAt,omitempty"`
	ResolvedBy   string     `json:"resolvedBy,omitempty"`
	// Advice is the LLM's recovery suggestion, when a provider is
	// configured: {"action": "retry"|"retry_with_changes"|"skip"|"escalate",
	// "variables"?, "reason", "confidence", "model"}.
	Advice json.RawMessage `json:"advice,omitempty"`
}

// DeadLetter is a job whose retries are exhausted.
type DeadLetter struct {
	ID             string    `json:"id"`
	InstanceID     string    `json:"instanceId"`
	NodeID         string    `json:"nodeId"`
	Kind           string    `json:"kind"`
	TaskType       string    `json:"taskType,omitempty"`
	Attempts       int       `json:"attempts"`
	LastError      string    `json:"lastError,omitempty"`
	FirstFailureAt time.Time `json:"firstFailureAt,omitzero"`
	LastFailureAt  time.Time `json:"lastFailureAt,omitzero"`
}

// DeadLetterList is a page of dead letters.
type DeadLetterList struct {
	DeadLetters []DeadLetter `json:"deadLetters"`
	Next        string       `json:"next,omitempty"`
}

// DrainRequest retries or discards every matching dead letter.
type DrainRequest struct {
	InstanceID string `json:"instanceId,omitempty"`
	NodeID     string `json:"nodeId,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Action     string `json:"action,omitempty" enum:"retry,discard" doc:"retry (default): run the node again from the last checkpoint; discard: complete the node without running it."`
}

// DrainResult says how many dead letters were resolved.
type DrainResult struct {
	Resolved int `json:"resolved"`
}

// Notification is one outbox delivery and its log.
type Notification struct {
	ID         string    `json:"id"`
	InstanceID string    `json:"instanceId,omitempty"`
	Event      string    `json:"event"`
	Channel    string    `json:"channel"`
	Target     string    `json:"target,omitempty"`
	State      string    `json:"state" enum:"pending,sent,dead"`
	Attempts   int       `json:"attempts"`
	LastError  string    `json:"lastError,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	NextAt     time.Time `json:"nextAttemptAt,omitzero"`
	SentAt     time.Time `json:"sentAt,omitzero"`
}

// NotificationList is a page of notifications.
type NotificationList struct {
	Notifications []Notification `json:"notifications"`
	Next          string         `json:"next,omitempty"`
}

// IncidentList is a page of incidents.
type IncidentList struct {
	Incidents []Incident `json:"incidents"`
	Next      string     `json:"next,omitempty"`
}

// FetchAndLockRequest asks for external tasks (Camunda's fetch-and-lock,
// Zeebe's activate jobs). Durations are ISO 8601 ("PT5M", "PT0.5S").
type FetchAndLockRequest struct {
	WorkerID     string   `json:"workerId" minLength:"1" doc:"Id of the worker; the tasks are locked to it."`
	Types        []string `json:"types" minItems:"1" doc:"Task types (the serviceTask's taskType) the worker can do."`
	MaxTasks     int      `json:"maxTasks,omitempty" minimum:"0" maximum:"1000" doc:"At most this many tasks (default 10)."`
	LockDuration string   `json:"lockDuration,omitempty" doc:"ISO 8601 duration the tasks stay locked to the worker (default PT1M). Extend it with extend-lock while working."`
	WaitFor      string   `json:"waitFor,omitempty" doc:"ISO 8601 duration, at most PT60S: long polling. When no task is available, wait up to this long and answer as soon as one is locked (default: answer at once)."`
}

// ExternalTask is a job locked to an external worker: a service (or send,
// business rule) task of a taskType no in-process handler serves.
type ExternalTask struct {
	ID             string         `json:"id" doc:"Task (job) id: the path parameter of complete, failure, bpmn-error and extend-lock."`
	InstanceID     string         `json:"instanceId"`
	DefinitionID   string         `json:"definitionId,omitempty"`
	NodeID         string         `json:"nodeId"`
	Type           string         `json:"type" doc:"The task type."`
	Attempt        int            `json:"attempt" doc:"1 for the first attempt, 2 for the first retry, ..."`
	Variables      map[string]any `json:"variables" doc:"The instance variables (with the task's local inputs) when the task was locked."`
	LockExpiresAt  time.Time      `json:"lockExpiresAt" doc:"Server time when the lock lapses and another worker may take the task."`
	IdempotencyKey string         `json:"idempotencyKey" doc:"Same for every attempt of the task: pass it on to receivers so that a repeated side effect is dropped."`
	// CustomHeaders are the task's static headers (zeebe:taskHeaders), as
	// Zeebe gives them to job workers.
	CustomHeaders map[string]string `json:"customHeaders,omitempty" doc:"The task's headers (zeebe:taskHeaders): static key/value settings from the model."`
}

// ExternalTaskList answers fetch-and-lock. Tasks is empty, never null,
// when no work was found.
type ExternalTaskList struct {
	Tasks []ExternalTask `json:"tasks"`
}

// CompleteExternalRequest completes a locked external task.
type CompleteExternalRequest struct {
	WorkerID  string         `json:"workerId" minLength:"1"`
	Variables map[string]any `json:"variables,omitempty" doc:"Output variables, merged into the instance (through the node's output mappings)."`
}

// CompleteExternalBatchRequest completes many external tasks locked to
// one worker in one request.
type CompleteExternalBatchRequest struct {
	WorkerID string                      `json:"workerId" minLength:"1"`
	Tasks    []CompleteExternalBatchItem `json:"tasks" minItems:"1" maxItems:"1000" doc:"The tasks to complete, each with its output variables."`
}

// CompleteExternalBatchItem is one task of a batch completion.
type CompleteExternalBatchItem struct {
	ID        string         `json:"id" minLength:"1" doc:"External task id (the id fetch-and-lock returned)."`
	Variables map[string]any `json:"variables,omitempty" doc:"Output variables, merged into the instance (through the node's output mappings)."`
}

// CompleteExternalBatchResult answers a batch completion: one result per
// task, in the order of the request.
type CompleteExternalBatchResult struct {
	Results []ExternalTaskResult `json:"results"`
}

// ExternalTaskResult is the outcome of one task of a batch: status 204
// when it completed, otherwise the status and detail its own request
// would have had (404 no such task, 409 not locked by this worker or
// already done, 422 invalid, 500).
type ExternalTaskResult struct {
	ID     string `json:"id"`
	Status int    `json:"status" doc:"204: completed; otherwise the status a single complete would have answered."`
	Detail string `json:"detail,omitempty" doc:"Why the task was not completed."`
}

// Completed reports whether the task completed.
func (r ExternalTaskResult) Completed() bool { return r.Status == http.StatusNoContent }

// ExternalFailureRequest reports a failed attempt of a locked external
// task.
type ExternalFailureRequest struct {
	WorkerID     string `json:"workerId" minLength:"1"`
	ErrorMessage string `json:"errorMessage" minLength:"1" doc:"What went wrong; it becomes the incident message when no retry is left."`
	// Retries is nil to let the server apply the node's retry policy.
	Retries      *int   `json:"retries,omitempty" minimum:"0" doc:"Attempts left: 0 opens an incident now. Absent: the node's retry policy decides (the engine default when it has none)."`
	RetryTimeout string `json:"retryTimeout,omitempty" doc:"ISO 8601 duration to wait before the task can be fetched again; default the policy's backoff."`
}

// ExternalBPMNErrorRequest ends a locked external task with a BPMN error,
// which an error boundary event on the task (or an enclosing sub-process)
// catches by its errorCode.
type ExternalBPMNErrorRequest struct {
	WorkerID     string         `json:"workerId" minLength:"1"`
	ErrorCode    string         `json:"errorCode" minLength:"1"`
	ErrorMessage string         `json:"errorMessage,omitempty"`
	Variables    map[string]any `json:"variables,omitempty" doc:"Variables set before the error is thrown."`
}

// ExtendLockRequest moves the lock of an external task to now+newDuration.
type ExtendLockRequest struct {
	WorkerID    string `json:"workerId" minLength:"1"`
	NewDuration string `json:"newDuration" minLength:"1" doc:"ISO 8601 duration from now."`
}

// Event is one message of the live event stream (GET /api/events): a
// transition committed.
type Event struct {
	Type       string    `json:"type" doc:"instance.started, instance.updated, instance.completed, instance.cancelled, task.created, ..."`
	InstanceID string    `json:"instanceId"`
	NodeID     string    `json:"nodeId,omitempty"`
	Status     string    `json:"status,omitempty"`
	Ref        string    `json:"ref,omitempty" doc:"Task, job or incident id the event is about."`
	Time       time.Time `json:"time"`
}

// Health answers /healthz and /readyz.
type Health struct {
	Status string `json:"status" doc:"ok, or what is wrong."`
}

// Problem is an RFC 9457 problem document: every error the API returns,
// with content type application/problem+json. It is also an error, so a
// client can return it as is.
type Problem struct {
	Type     string         `json:"type,omitempty" doc:"URI of the problem type; about:blank when the status says it all."`
	Title    string         `json:"title,omitempty" doc:"Short summary of the problem type."`
	Status   int            `json:"status,omitempty" doc:"HTTP status code."`
	Detail   string         `json:"detail,omitempty" doc:"What is wrong and where."`
	Instance string         `json:"instance,omitempty" doc:"URI of this occurrence (the request path)."`
	Errors   []ProblemError `json:"errors,omitempty" doc:"Each problem found, with its location."`
}

// ProblemError is one located problem: for a request, location is
// "body.field" or "query.name"; for a definition, "file:line nodeId field".
type ProblemError struct {
	Location string `json:"location,omitempty"`
	Message  string `json:"message"`
}

// Error reports the detail (with the located errors) so that a Problem
// reads well as a Go error.
func (p *Problem) Error() string {
	var b strings.Builder
	switch {
	case p.Detail != "":
		b.WriteString(p.Detail)
	case p.Title != "":
		b.WriteString(p.Title)
	default:
		fmt.Fprintf(&b, "HTTP status %d", p.Status)
	}
	for _, e := range p.Errors {
		b.WriteString("\n  ")
		if e.Location != "" {
			b.WriteString(e.Location)
			b.WriteString(": ")
		}
		b.WriteString(e.Message)
	}
	return b.String()
}
