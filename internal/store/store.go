// Package store is the persistence contract of Baton: the row types, the
// Store interface that store/sqlite and store/postgres implement, and the
// sentinel errors. It contains no SQL statements: columns.go names the
// columns both dialects' schemas share, and prepare.go applies the checks
// and defaults of the contract that need no database (Prepare for a
// Transition), so that implementations keep only SQL and dialect.
// store/storetest holds the conformance suite both implementations pass.
//
// The central operation is Commit: one transition of one instance (new state
// snapshot, history rows, jobs, user tasks, subscriptions, incidents, outbox
// rows, LLM decisions) written in one transaction, guarded by the instance's
// version so that two workers never advance an instance from the same
// checkpoint. The command that caused the transition is written with it,
// so an instance can be re-run from its commands.
//
// Rules every implementation follows (store/storetest checks them):
//
//   - Times are stored in UTC with microsecond precision: they read back
//     truncated to the microsecond, in time.UTC. The zero time is stored as
//     NULL and reads back as the zero time.
//   - Guarded writes: a method that changes one row by id under a condition
//     (ExtendLease, RetryJob, ReleaseJob, RequeueJob, UpdateTaskAssignment,
//     MarkOutbox, RequeueOutbox, SetIncidentAdvice) returns an error
//     wrapping ErrNotFound when no row has the id and ErrConflict when the
//     row exists but the condition does not hold; nothing is changed then.
//     Inserting a row whose id exists fails with ErrConflict.
//   - List methods (Instances, Jobs, Tasks, Incidents, Outbox) return rows
//     ordered by id; After is an exclusive id cursor; Limit defaults to 100
//     and is capped at 1000.
//   - A job or outbox row has LeaseOwner and LeaseUntil set only while it
//     is leased; every change that ends a lease clears both.
package store

import (
	"context"
	"errors"
	"fmt"
	"github.com/batonhq/baton/internal/engine"
	"time"

	"github.com/batonhq/baton/internal/model"
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
	// ErrBusinessKeyInUse: a new instance's business key is held by an
	// instance of the same definition that has not ended, and the start
	// asked for it to be unique (Transition.UniqueBusinessKey). It wraps
	// ErrConflict.
	ErrBusinessKeyInUse = fmt.Errorf("business key in use: %w", ErrConflict)
	// ErrTaskChanged: a task assignment's guard failed (Transition
	// AssignTasks): the task is not open, or its assignee is no longer
	// the one the caller saw. It wraps ErrConflict. Unlike a version
	// conflict, reloading the instance cannot make it hold, so it is not
	// worth a retry.
	ErrTaskChanged = fmt.Errorf("task changed: %w", ErrConflict)
)

// DefinitionRow is one deployed version of a workflow. Source is kept
// verbatim.
type DefinitionRow struct {
	ID         string       `json:"id"`
	Version    int          `json:"version"`
	Name       string       `json:"name"`
	Format     model.Format `json:"format"`
	Source     []byte       `json:"-"`
	Hash       string       `json:"hash"` // hex SHA-256 of Source
	DeployedAt time.Time    `json:"deployedAt"`
	DeployedBy string       `json:"deployedBy,omitempty"`
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
	Version int64
	// CreatedAt is written when the instance is inserted (Version 1);
	// later commits keep the stored value.
	CreatedAt time.Time
	UpdatedAt time.Time
	EndedAt   time.Time // zero while running
	// ParentID, ParentNode and ParentJob link the instance a call activity
	// started to its caller: the calling instance, the call activity and
	// the call job its token waits on. They are written when the instance
	// is inserted (Version 1) and never change; "" for a top-level
	// instance.
	ParentID   string
	ParentNode string
	ParentJob  string
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

	// LeaseExpiries counts the attempts whose lease expired while the job
	// was running: its process ended (or stalled) before it finished.
	// FetchJobs increments it when it takes such a job over; RequeueJob
	// resets it. A new job has none (NewJobs ignore it).
	LeaseExpiries int
}

// LeaseExpiredError is the LastError FetchJobs records on a job it takes
// over from an expired lease.
const LeaseExpiredError = "lease expired while running: the process running the job ended or stalled"

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
	Priority        int // 0 to 100, higher first; 50 unless the node sets it
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
	Kind           engine.IncidentKind
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

// MessageRow is a buffered message waiting for its catch event. The store
// keeps one record per message id: buffered until a Transition consumes
// it, then consumed for good, which makes correlation exactly-once per id.
type MessageRow struct {
	ID        string // message id: correlation is exactly-once per id
	Name      string
	Key       string
	Variables []byte
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CommandRow is what the runner applied to an instance in one transition
// (the engine.Command given to engine.Step, as JSON), written in the same
// transaction as the transition it caused. Together with the definition
// the rows are enough to re-run the instance offline (baton replay).
type CommandRow struct {
	InstanceID string
	// Seq is the instance version the command's transition committed,
	// which is also the Checkpoint of the history rows it wrote: one row
	// per version.
	Seq int64
	// Command is the engine.Command as JSON, or a JSON array of the
	// commands applied in order when the runner applied several in one
	// transition (jobs it ran inside the transition).
	Command   []byte
	CreatedAt time.Time
}

// JobDone closes the job whose completion caused a transition. The commit
// fails with ErrConflict unless the job is running under Owner. The job
// gets State, its lease is cleared, a non-empty Error becomes LastError,
// and for JobDead the failure times are set from Instance.UpdatedAt
// (FirstFailureAt only if it was zero).
type JobDone struct {
	ID    string
	Owner string
	State string // JobCompleted or JobDead (JobCancelled is accepted too)
	Error string
}

// TaskClose closes a user task; ErrConflict unless it is open (or if it
// does not exist). CompletedAt becomes Instance.UpdatedAt and CompletedBy
// becomes By.
type TaskClose struct {
	ID    string
	State string // TaskCompleted or TaskCancelled
	By    string
}

// TaskAssign changes the assignee of an open user task (claim, unclaim,
// delegate) as a compare-and-set: the commit fails with ErrTaskChanged
// (an ErrConflict) unless the task exists, is open and has the assignee
// From. To "" unassigns.
type TaskAssign struct {
	ID   string
	From string // the assignee the caller saw ("" unassigned)
	To   string
}

// Transition is everything one engine step changes, committed atomically:
// when any part fails, nothing of it is written.
//
// Instance is inserted when its Version is 1 (ErrConflict if the id
// exists) and otherwise updated only if the stored version is Version-1
// (ErrConflict if not, or if the instance does not exist). A Transition
// with an empty Instance.ID writes no instance; it may not carry History
// (it can create jobs, incidents, outbox rows and decisions not tied to an
// instance, or finish such a job).
//
// Instance.UpdatedAt is the transition's time ("now" below). New rows get
// defaults for zero fields: CreatedAt = now; jobs and outbox rows RunAt =
// CreatedAt (an error if that is still zero); State = JobAvailable,
// TaskOpen, IncidentOpen or OutboxPending.
type Transition struct {
	Instance InstanceRow
	// History rows get InstanceID = Instance.ID, Seq numbered on from the
	// instance's last seq, Checkpoint = Instance.Version, and Time = now
	// when zero; the values passed in for those are ignored.
	History []HistoryRow
	// Command is the command that caused the transition, as JSON (nil:
	// none; see CommandRow.Command for several). It is stored as the instance's CommandRow with Seq =
	// Instance.Version and CreatedAt = now; a Transition without an
	// instance may not carry one.
	Command []byte

	// NewJobs are inserted as given. A runner may insert them already
	// leased to itself (State running, LeaseOwner, LeaseUntil, Attempt 1)
	// to run them without a fetch; expired leases are taken over as usual.
	NewJobs []JobRow
	// CancelJobs cancels the listed jobs unless they are completed (or
	// already cancelled) and clears their leases; unknown ids are ignored.
	CancelJobs []string
	DoneJob    *JobDone

	NewTasks   []TaskRow
	CloseTasks []TaskClose
	// AssignTasks are applied before CloseTasks, each guarded on its
	// From (see TaskAssign).
	AssignTasks []TaskAssign

	NewSubs    []SubscriptionRow
	DeleteSubs []string // unknown ids are ignored

	NewIncidents []IncidentRow
	// ResolveIncidents resolves the listed open incidents: ResolvedAt =
	// now, ResolvedBy = the Actor of the last History row that has one.
	// Unknown or already resolved ids are ignored.
	ResolveIncidents []string

	Outbox    []OutboxRow
	Decisions []DecisionRow

	// Retarget re-points the instance's tasks, jobs and subscriptions at
	// other nodes (instance migration, see Retarget).
	Retarget []Retarget

	// ConsumeMessage marks the message with this id consumed (recording it
	// as consumed if it was never buffered); ErrConflict if it was already
	// consumed. A consumed message is no longer returned by
	// BufferedMessages, and BufferMessage with its id reports
	// created=false.
	ConsumeMessage string

	// Idempotency, with an instance, records Instance.ID on the
	// idempotency key claimed under Token (see IdempotencyRow), in the
	// transaction that writes the instance: a request whose answer is lost
	// after the commit finds its instance by the key. ErrConflict unless
	// the key is claimed by Token, has no answer and no instance yet.
	Idempotency *IdempotencyClaim
	// UniqueBusinessKey, with a new instance (Version 1) that has a
	// BusinessKey, makes that key exclusive among the instances of
	// Instance.DefinitionID that have not ended (RUNNING, WAITING,
	// FAILED): the commit fails with ErrBusinessKeyInUse when another
	// holds it. The claim ends when the instance completes or is
	// cancelled.
	UniqueBusinessKey bool
}

// IdempotencyRow is a request sent with an Idempotency-Key, kept until
// ExpiresAt so that a repeat gets the first answer. (Caller, Key) is the
// primary key: keys are scoped per caller. A row is in flight (Status 0)
// while the request that claimed it (Token, until LockedUntil) works on
// it, and answered once Status and Body are set.
type IdempotencyRow struct {
	Caller      string
	Key         string
	RequestHash string // hex SHA-256 of method, path, caller and canonical body
	Method      string
	Path        string
	Token       string    // the claim of the request working on it
	LockedUntil time.Time // after it, another request may take the claim over
	// InstanceID is the instance a start committed under the key
	// (Transition.Idempotency); "" until then.
	InstanceID  string
	Status      int // the answer's HTTP status; 0 while in flight
	ContentType string
	Body        []byte
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// IdempotencyClaim names the idempotency key a transition commits with.
type IdempotencyClaim struct {
	Caller string
	Key    string
	Token  string
}

// FetchParams selects jobs (or outbox rows) to lease. Owner, Now and a
// positive LeaseFor are required.
type FetchParams struct {
	Owner    string
	Kinds    []string // empty: every kind; for FetchOutbox, channels
	Now      time.Time
	Limit    int // at least 1, at most 1000
	LeaseFor time.Duration
}

// InstanceFilter filters Instances. Zero fields do not filter.
type InstanceFilter struct {
	Status       string
	DefinitionID string
	BusinessKey  string
	ParentID     string // the instances a call activity of this instance started
	After        string // page cursor: the last id of the previous page
	Limit        int
	// InstanceQuery holds the operator's search (instancequery.go).
	InstanceQuery
}

// TaskFilter filters Tasks. The identity fields match tasks that are
// assigned to User, or unassigned with User among the candidate users or a
// group of Groups among the candidate groups; with neither User nor Groups
// set there is no identity filter. Group matches tasks that have it among
// their candidate groups, assigned or not. DueBefore matches tasks with a
// DueAt strictly before it. Search, Sort and paging are checked by
// CheckTaskQuery (taskquery.go).
type TaskFilter struct {
	State        string // default TaskOpen
	InstanceID   string
	DefinitionID string
	Assignee     string
	Group        string // candidate group
	User         string
	Groups       []string
	DueBefore    time.Time
	// CompletedBy matches tasks completed by this user.
	CompletedBy string
	// Search matches tasks whose name, instance business key, or
	// process (definition) name or id contains it, ignoring ASCII case.
	Search string
	// Sort orders the list; "" orders by id and pages with After. With a
	// Sort, pages resume at Cursor and After is ignored.
	Sort   TaskSort
	Desc   bool
	Cursor *TaskCursor
	After  string
	Limit  int
}

// JobFilter filters Jobs.
type JobFilter struct {
	State      string
	Kind       string
	InstanceID string
	// Unresolved leaves out jobs whose incident was resolved (a dead job
	// retried, skipped or moved past by an operator).
	Unresolved bool
	After      string
	Limit      int
}

// IncidentFilter filters Incidents.
type IncidentFilter struct {
	State        string
	InstanceID   string
	DefinitionID string
	NodeID       string
	Message      string // exact message (an IncidentGroup's)
	After        string
	Limit        int
}

// OutboxFilter filters Outbox.
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
	BatchStore     // batch.go
	RetentionStore // retention.go

	// Deploy stores a definition version. An empty Hash is computed from
	// Source. If the latest version of the same id has the same Hash, that
	// row is returned with created=false; otherwise Version is set to
	// latest+1 (the Version passed in is ignored). Concurrent deploys of
	// one id get distinct versions.
	Deploy(ctx context.Context, d DefinitionRow) (row DefinitionRow, created bool, err error)
	// Definition returns one version (0: the latest).
	Definition(ctx context.Context, id string, version int) (DefinitionRow, error)
	// Definitions lists the latest version of every definition, by id.
	Definitions(ctx context.Context) ([]DefinitionRow, error)
	// DefinitionVersions lists every version of one definition.
	DefinitionVersions(ctx context.Context, id string) ([]DefinitionRow, error)

	// Commit writes one transition atomically (see Transition). ErrConflict
	// when the instance version, job lease, task or message guard fails or
	// a new row's id exists; nothing is written then.
	Commit(ctx context.Context, t Transition) error

	Instance(ctx context.Context, id string) (InstanceRow, error)
	Instances(ctx context.Context, f InstanceFilter) ([]InstanceRow, error)
	// CountInstances counts the instances f matches, whatever its page
	// (After, Cursor and Limit are ignored).
	CountInstances(ctx context.Context, f InstanceFilter) (int, error)
	History(ctx context.Context, instanceID string) ([]HistoryRow, error)
	// Commands lists the commands recorded for an instance, by Seq (none
	// for an unknown instance).
	Commands(ctx context.Context, instanceID string) ([]CommandRow, error)

	// FetchJobs leases up to Limit jobs that are available with RunAt <=
	// Now, or running with an expired lease, oldest RunAt first: it sets
	// them running under Owner until Now+LeaseFor and increments Attempt.
	// Taking over an expired lease records the attempt that never
	// finished: LeaseExpiries is incremented, LastError becomes
	// LeaseExpiredError and the failure times are set to Now
	// (FirstFailureAt only if it was zero).
	// On PostgreSQL concurrent fetchers never get the same job.
	FetchJobs(ctx context.Context, p FetchParams) ([]JobRow, error)
	// ExtendLease moves a running job's lease; ErrConflict if lost.
	ExtendLease(ctx context.Context, id, owner string, until time.Time) error
	// RetryJob puts a running job back to available at runAt, recording
	// the error and failure times; ErrConflict if the lease was lost.
	RetryJob(ctx context.Context, id, owner string, runAt time.Time, errMsg string, now time.Time) error
	// SnoozeJob puts a running job back to available at runAt, like
	// RetryJob, but gives back the attempt its lease counted: the work
	// was not tried, only deferred (a rate limit named its own time).
	// ErrConflict if the lease was lost.
	SnoozeJob(ctx context.Context, id, owner string, runAt time.Time, errMsg string, now time.Time) error
	// ReleaseJob returns a leased job to available without counting the
	// attempt (graceful shutdown); ErrConflict if the lease was lost.
	ReleaseJob(ctx context.Context, id, owner string) error
	// RequeueJob makes a dead or cancelled job available again at runAt
	// with Attempt and LeaseExpiries reset to 0 (operator retry);
	// ErrConflict for a job in another state. LastError and the failure
	// times are kept.
	RequeueJob(ctx context.Context, id string, runAt time.Time) error
	Job(ctx context.Context, id string) (JobRow, error)
	Jobs(ctx context.Context, f JobFilter) ([]JobRow, error)
	// NextRunAt returns the earliest RunAt of available jobs of the kinds
	// (all when empty); ok=false when there is none.
	NextRunAt(ctx context.Context, kinds []string) (t time.Time, ok bool, err error)
	// CountJobs counts jobs by state (queue depth). Every job state is a
	// key, with 0 when no job is in it.
	CountJobs(ctx context.Context) (map[string]int, error)

	Task(ctx context.Context, id string) (TaskRow, error)
	Tasks(ctx context.Context, f TaskFilter) ([]TaskRow, error)
	// UpdateTaskAssignment sets the assignee of an open task whoever has
	// it now (an escalation's reassignment); ErrConflict if the task is
	// not open. Users' claims, unclaims and delegations are
	// compare-and-set instead, with a history entry: Transition
	// AssignTasks.
	UpdateTaskAssignment(ctx context.Context, id, assignee string) error

	// Subscriptions finds open subscriptions by kind, name and key ("" key
	// matches subscriptions without a key), oldest first.
	Subscriptions(ctx context.Context, kind, name, key string) ([]SubscriptionRow, error)

	Incident(ctx context.Context, id string) (IncidentRow, error)
	Incidents(ctx context.Context, f IncidentFilter) ([]IncidentRow, error)
	// IncidentGroups counts open incidents by definition, node and
	// message, largest group first (at most MaxLimit groups).
	IncidentGroups(ctx context.Context) ([]IncidentGroup, error)
	SetIncidentAdvice(ctx context.Context, id string, advice []byte) error

	// FetchOutbox leases up to Limit pending rows with RunAt <= Now whose
	// lease is free or expired, oldest RunAt first; it increments Attempts.
	// p.Kinds filters by channel.
	FetchOutbox(ctx context.Context, p FetchParams) ([]OutboxRow, error)
	// MarkOutbox records the outcome of a delivery leased by owner and
	// ends the lease: OutboxSent (SentAt = now), OutboxPending (retry at
	// runAt) or OutboxDead. A non-empty errMsg becomes LastError.
	// ErrConflict unless the row is pending and leased by owner.
	MarkOutbox(ctx context.Context, id, owner, state string, runAt time.Time, errMsg string, now time.Time) error
	Outbox(ctx context.Context, f OutboxFilter) ([]OutboxRow, error)
	// RequeueOutbox makes a dead row pending at runAt with Attempts reset
	// to 0; ErrConflict for a row in another state.
	RequeueOutbox(ctx context.Context, id string, runAt time.Time) error

	// Decisions lists an instance's decisions, oldest CreatedAt first.
	Decisions(ctx context.Context, instanceID string) ([]DecisionRow, error)
	// DecisionsByNode lists the decisions recorded at one node (of any
	// instance), ordered by id, paged by after/limit (default 100, at most
	// 1000) — for reports such as the shadow-mode agreement.
	DecisionsByNode(ctx context.Context, nodeID, after string, limit int) ([]DecisionRow, error)
	// DecisionTokens sums the tokens (input + output) of the decisions
	// recorded since since by instances of a definition (any version): the
	// definition's spending for its daily budget.
	DecisionTokens(ctx context.Context, definitionID string, since time.Time) (int64, error)
	// InsertDecision records an LLM call before its answer is acted on;
	// ErrConflict if the id exists.
	InsertDecision(ctx context.Context, d DecisionRow) error

	// BufferMessage stores a message no subscription took yet; a message
	// whose id is already known (buffered or consumed) is ignored
	// (created=false).
	BufferMessage(ctx context.Context, m MessageRow) (created bool, err error)
	// BufferedMessages returns the unconsumed messages of name and key that
	// have no ExpiresAt or one after now, oldest CreatedAt first.
	BufferedMessages(ctx context.Context, name, key string, now time.Time) ([]MessageRow, error)
	// DeleteExpiredMessages removes unconsumed messages whose ExpiresAt is
	// at or before now and returns how many. Consumed ids are kept, so a
	// late duplicate can never be correlated again.
	DeleteExpiredMessages(ctx context.Context, now time.Time) (int, error)

	// ClaimIdempotencyKey claims the key (Caller, Key) of row for the
	// request whose Token, LockedUntil, RequestHash, CreatedAt and
	// ExpiresAt it carries (ExpiresAt is required; Status, Body and
	// InstanceID are ignored). It inserts row when the key is unknown or
	// its stored row expired (ExpiresAt <= now), and takes the stored row
	// over (Token and LockedUntil; the rest is kept, InstanceID too) when
	// that row has the same RequestHash, no answer and LockedUntil <= now.
	// It returns the stored row after the call and whether the caller now
	// holds the claim; claimed=false leaves the row as it was (answered,
	// in flight under another claim, or another request's key).
	ClaimIdempotencyKey(ctx context.Context, row IdempotencyRow, now time.Time) (stored IdempotencyRow, claimed bool, err error)
	// AnswerIdempotencyKey records the answer of the request that holds
	// the claim token; ErrNotFound for an unknown key, ErrConflict unless
	// the key is in flight under token.
	AnswerIdempotencyKey(ctx context.Context, caller, key, token string, status int, contentType string, body []byte) error
	// ReleaseIdempotencyKey gives up the claim token without an answer:
	// the row is deleted, unless a start committed an instance under it;
	// then only the lock ends (LockedUntil becomes the zero time) so that
	// the next request with the key takes it over at once. ErrNotFound
	// for an unknown key, ErrConflict unless it is in flight under token.
	ReleaseIdempotencyKey(ctx context.Context, caller, key, token string) error
	// IdempotencyKey returns the row of (caller, key), expired or not.
	IdempotencyKey(ctx context.Context, caller, key string) (IdempotencyRow, error)
	// DeleteExpiredIdempotencyKeys removes the rows whose ExpiresAt is at
	// or before now and returns how many.
	DeleteExpiredIdempotencyKeys(ctx context.Context, now time.Time) (int, error)

	// Ping checks the database is reachable (readiness).
	Ping(ctx context.Context) error
	Close() error
}
