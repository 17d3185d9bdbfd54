// Package store is the persistence contract of Baton: the row types, the
// Store interface that store/sqlite and store/postgres implement, and the
// sentinel errors. It contains no SQL. store/storetest holds the
// conformance suite both implementations pass.
//
// The central operation is Commit: one transition of one instance (new state
// snapshot, history rows, jobs, user tasks, subscriptions, incidents, outbox
// rows, LLM decisions) written in one transaction, guarded by the instance's
// version so that two workers never advance an instance from the same
// checkpoint.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Implementations wrap them with context; test with
// errors.Is.
var (
	// ErrNotFound: the row does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a guarded write lost (instance version moved on, job
	// lease lost, task already closed). The caller reloads and retries or
	// gives up.
	ErrConflict = errors.New("conflict")
)

// DefinitionRow is one deployed version of a workflow. Source is kept
// verbatim.
type DefinitionRow struct {
	ID         string    `json:"id"`
	Version    int       `json:"version"`
	Name       string    `json:"name"`
	Format     string    `json:"format"` // "json" or "bpmn"
	Source     []byte    `json:"-"`
	Hash       string    `json:"hash"` // hex SHA-256 of Source
	DeployedAt time.Time `json:"deployedAt"`
	DeployedBy string    `json:"deployedBy,omitempty"`
}

// InstanceRow is an instance's current checkpoint.
type InstanceRow struct {
	ID                string
	DefinitionID      string
	DefinitionVersion int
	BusinessKey       string
	Status            string // engine.Status values
	// State is the engine.State snapshot as JSON (history drained).
	State []byte
	// Version counts committed transitions; Commit requires the stored
	// version to be Version-1 (0 for a new instance).
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
	EndedAt   time.Time // zero while running
}

// HistoryRow is one append-only history entry. Seq is assigned by the
// store, increasing per instance.
type HistoryRow struct {
	InstanceID string
	Seq        int64
	NodeID     string
	NodeType   string
	Action     string
	Time       time.Time
	Result     []byte // JSON or nil
	Actor      string
	// Checkpoint is the instance version this entry was committed with.
	Checkpoint int64
}

// Job states.
const (
	JobAvailable = "available" // waiting for RunAt
	JobRunning   = "running"   // leased by LeaseOwner until LeaseUntil
	JobCompleted = "completed"
	JobDead      = "dead" // retries exhausted; an incident is open
	JobCancelled = "cancelled"
)

// JobRow is a unit of work outside a Step: a service call, a timer, a
// notification, an LLM call. Kind selects the handler.
type JobRow struct {
	ID             string
	InstanceID     string // "" for jobs not tied to an instance
	Kind           string // service, send, businessRule, timer, notify, llm, ...
	NodeID         string
	TaskType       string // worker type for service tasks
	State          string
	Attempt        int // attempts started so far
	MaxAttempts    int // 0: runner default
	RunAt          time.Time
	LeaseOwner     string
	LeaseUntil     time.Time
	LastError      string
	Payload        []byte // JSON, handler specific
	CreatedAt      time.Time
	FirstFailureAt time.Time
	LastFailureAt  time.Time
}

// Task states.
const (
	TaskOpen      = "open"
	TaskCompleted = "completed"
	TaskCancelled = "cancelled"
)

// TaskRow is a user task.
type TaskRow struct {
	ID              string
	InstanceID      string
	DefinitionID    string
	NodeID          string
	Name            string
	Assignee        string
	CandidateUsers  []string
	CandidateGroups []string
	DueAt           time.Time
	FollowUpAt      time.Time
	FormKey         string
	State           string
	Payload         []byte // JSON: form, locals
	CreatedAt       time.Time
	CompletedAt     time.Time
	CompletedBy     string
}

// SubscriptionRow is an open message or signal subscription.
type SubscriptionRow struct {
	ID         string
	InstanceID string
	NodeID     string
	Kind       string // "message" or "signal"
	Name       string
	Key        string
	CreatedAt  time.Time
}

// Incident states.
const (
	IncidentOpen     = "open"
	IncidentResolved = "resolved"
)

// IncidentRow is an open or resolved incident.
type IncidentRow struct {
	ID             string
	InstanceID     string
	DefinitionID   string
	NodeID         string
	JobID          string
	Kind           string
	Message        string
	Attempts       int
	State          string
	Advice         []byte // JSON, LLM incident advice
	CreatedAt      time.Time
	FirstFailureAt time.Time
	LastFailureAt  time.Time
	ResolvedAt     time.Time
	ResolvedBy     string
}

// Outbox states.
const (
	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxDead    = "dead"
)

// OutboxRow is a notification to deliver.
type OutboxRow struct {
	ID         string
	InstanceID string
	Event      string // instance.started, task.assigned, ...
	Channel    string // email, sms, webhook
	Target     string
	Payload    []byte
	State      string
	Attempts   int
	RunAt      time.Time
	LastError  string
	CreatedAt  time.Time
	SentAt     time.Time
	LeaseOwner string
	LeaseUntil time.Time
}

// DecisionRow records one LLM call and its parsed decision.
type DecisionRow struct {
	ID           string
	InstanceID   string
	NodeID       string
	JobID        string
	Provider     string
	Model        string
	Request      []byte // JSON: prompt, tools offered
	Response     []byte // raw response
	Decision     []byte // parsed decision JSON
	InputTokens  int
	OutputTokens int
	LatencyMS    int64
	CostMicros   int64
	CreatedAt    time.Time
}

// MessageRow is a buffered message waiting for its catch event.
type MessageRow struct {
	ID        string // message id: correlation is exactly-once per id
	Name      string
	Key       string
	Variables []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// JobDone closes the job whose completion caused a transition. The commit
// fails with ErrConflict unless the job is running under Owner.
type JobDone struct {
	ID    string
	Owner string
	State string // JobCompleted or JobDead
	Error string
}

// TaskClose closes a user task; ErrConflict unless it is open.
type TaskClose struct {
	ID    string
	State string // TaskCompleted or TaskCancelled
	By    string
}

// Transition is everything one engine step changes, committed atomically.
type Transition struct {
	Instance InstanceRow
	History  []HistoryRow

	// NewJobs are inserted as given. A runner may insert them already
	// leased to itself (State running, LeaseOwner, LeaseUntil, Attempt 1)
	// to run them without a fetch; expired leases are taken over as usual.
	NewJobs    []JobRow
	CancelJobs []string // ids of available/running jobs to cancel
	DoneJob    *JobDone

	NewTasks   []TaskRow
	CloseTasks []TaskClose

	NewSubs    []SubscriptionRow
	DeleteSubs []string

	NewIncidents     []IncidentRow
	ResolveIncidents []string // ids; resolved by Instance's last actor

	Outbox    []OutboxRow
	Decisions []DecisionRow

	// ConsumeMessage deletes a buffered message (by id) in the same
	// transaction; ErrConflict if it is gone.
	ConsumeMessage string
}

// FetchParams selects jobs to lease.
type FetchParams struct {
	Owner    string
	Kinds    []string // empty: every kind
	Now      time.Time
	Limit    int
	LeaseFor time.Duration
}

// InstanceFilter filters ListInstances. Zero fields do not filter.
type InstanceFilter struct {
	Status       string
	DefinitionID string
	BusinessKey  string
	After        string // page cursor: the last id of the previous page
	Limit        int
}

// TaskFilter filters ListTasks. The identity fields match tasks that are
// assigned to User, or unassigned with User among the candidate users or a
// group of Groups among the candidate groups.
type TaskFilter struct {
	State        string // default TaskOpen
	InstanceID   string
	DefinitionID string
	Assignee     string
	Group        string // candidate group
	User         string
	Groups       []string
	DueBefore    time.Time
	After        string
	Limit        int
}

// JobFilter filters ListJobs.
type JobFilter struct {
	State      string
	Kind       string
	InstanceID string
	After      string
	Limit      int
}

// IncidentFilter filters ListIncidents.
type IncidentFilter struct {
	State        string
	InstanceID   string
	DefinitionID string
	NodeID       string
	After        string
	Limit        int
}

// OutboxFilter filters ListOutbox.
type OutboxFilter struct {
	State      string
	InstanceID string
	Channel    string
	Event      string
	After      string
	Limit      int
}

// Store is the persistence contract.
type Store interface {
	// Deploy stores a definition version. If the latest version of the same
	// id has the same Hash, that row is returned with created=false;
	// otherwise Version is set to latest+1.
	Deploy(ctx context.Context, d DefinitionRow) (row DefinitionRow, created bool, err error)
	// Definition returns one version (0: the latest).
	Definition(ctx context.Context, id string, version int) (DefinitionRow, error)
	// Definitions lists the latest version of every definition, by id.
	Definitions(ctx context.Context) ([]DefinitionRow, error)
	// DefinitionVersions lists every version of one definition.
	DefinitionVersions(ctx context.Context, id string) ([]DefinitionRow, error)

	// Commit writes one transition atomically. ErrConflict when the
	// instance version, job lease, task or message guard fails; nothing is
	// written then.
	Commit(ctx context.Context, t Transition) error

	Instance(ctx context.Context, id string) (InstanceRow, error)
	Instances(ctx context.Context, f InstanceFilter) ([]InstanceRow, error)
	History(ctx context.Context, instanceID string) ([]HistoryRow, error)

	// FetchJobs leases up to Limit jobs that are available with RunAt <=
	// Now, or running with an expired lease, oldest RunAt first: it sets
	// them running under Owner until Now+LeaseFor and increments Attempt.
	// On PostgreSQL concurrent fetchers never get the same job.
	FetchJobs(ctx context.Context, p FetchParams) ([]JobRow, error)
	// ExtendLease moves a running job's lease; ErrConflict if lost.
	ExtendLease(ctx context.Context, id, owner string, until time.Time) error
	// RetryJob puts a running job back to available at runAt, recording
	// the error and failure times; ErrConflict if the lease was lost.
	RetryJob(ctx context.Context, id, owner string, runAt time.Time, errMsg string, now time.Time) error
	// ReleaseJob returns a leased job to available without counting the
	// attempt (graceful shutdown).
	ReleaseJob(ctx context.Context, id, owner string) error
	// RequeueJob makes a dead or cancelled job available again at runAt
	// with Attempt reset to 0 (operator retry).
	RequeueJob(ctx context.Context, id string, runAt time.Time) error
	Job(ctx context.Context, id string) (JobRow, error)
	Jobs(ctx context.Context, f JobFilter) ([]JobRow, error)
	// NextRunAt returns the earliest RunAt of available jobs of the kinds
	// (all when empty); ok=false when there is none.
	NextRunAt(ctx context.Context, kinds []string) (t time.Time, ok bool, err error)
	// CountJobs counts jobs by state (queue depth).
	CountJobs(ctx context.Context) (map[string]int, error)

	Task(ctx context.Context, id string) (TaskRow, error)
	Tasks(ctx context.Context, f TaskFilter) ([]TaskRow, error)
	// UpdateTaskAssignment sets assignee (claim, unclaim, delegate) of an
	// open task; ErrConflict if the task is not open.
	UpdateTaskAssignment(ctx context.Context, id, assignee string) error

	// Subscriptions finds open subscriptions by kind, name and key ("" key
	// matches subscriptions without a key).
	Subscriptions(ctx context.Context, kind, name, key string) ([]SubscriptionRow, error)

	Incident(ctx context.Context, id string) (IncidentRow, error)
	Incidents(ctx context.Context, f IncidentFilter) ([]IncidentRow, error)
	SetIncidentAdvice(ctx context.Context, id string, advice []byte) error

	// Outbox delivery.
	FetchOutbox(ctx context.Context, p FetchParams) ([]OutboxRow, error)
	MarkOutbox(ctx context.Context, id, owner, state string, runAt time.Time, errMsg string, now time.Time) error
	Outbox(ctx context.Context, f OutboxFilter) ([]OutboxRow, error)
	RequeueOutbox(ctx context.Context, id string, runAt time.Time) error

	Decisions(ctx context.Context, instanceID string) ([]DecisionRow, error)
	// InsertDecision records an LLM call before its answer is acted on.
	InsertDecision(ctx context.Context, d DecisionRow) error

	// BufferMessage stores a message no subscription took yet; a second
	// message with the same id is ignored (created=false).
	BufferMessage(ctx context.Context, m MessageRow) (created bool, err error)
	// BufferedMessages returns unexpired buffered messages by name and key.
	BufferedMessages(ctx context.Context, name, key string, now time.Time) ([]MessageRow, error)
	// DeleteExpiredMessages removes messages past ExpiresAt.
	DeleteExpiredMessages(ctx context.Context, now time.Time) (int, error)

	// Ping checks the database is reachable (readiness).
	Ping(ctx context.Context) error
	Close() error
}
