package baton

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Operations on live instances: instance modification, migration to
// another definition version, and batch operations.

// Token is one active token of an instance (an element instance): what
// instance modification cancels by id and activates into.
type Token struct {
	ID     int64  `json:"id" doc:"Token id, unique in the instance."`
	NodeID string `json:"nodeId" doc:"The node the token is at."`
	Scope  int64  `json:"scope,omitempty" doc:"The token holding the sub-process this token is in (0: the process)."`
	Wait   string `json:"wait,omitempty" doc:"What it waits for: job, task, event, gateway, join, scope, incident."`
	Ref    string `json:"ref,omitempty" doc:"The job, task or incident it waits for."`
}

// ModifyRequest changes a running instance: every instruction is checked
// first, then all apply in one transaction.
type ModifyRequest struct {
	Instructions []ModifyInstruction `json:"instructions" minItems:"1" doc:"Applied in order, atomically."`
}

// ModifyInstruction is one change of an instance modification.
type ModifyInstruction struct {
	Op        string         `json:"op" enum:"cancel,activate,setVariables" doc:"cancel the tokens at node (or the one token); activate a new token at node; setVariables in a scope."`
	Node      string         `json:"node,omitempty" doc:"cancel: every token at this node; activate: the node to start at; setVariables: the sub-process whose active instance is the scope (empty: the process)."`
	Token     int64          `json:"token,omitempty" doc:"cancel: this one token (see the instance's tokens)."`
	Scope     int64          `json:"scope,omitempty" doc:"activate, setVariables: the token holding the sub-process instance to work in, when there are several."`
	Variables map[string]any `json:"variables,omitempty" doc:"activate: set in the scope the node is activated in; setVariables: the variables to merge."`
}

// DefinitionRef names one definition version.
type DefinitionRef struct {
	ID      string `json:"id,omitempty" doc:"Definition id (default: the instance's own)."`
	Version int    `json:"version,omitempty" doc:"Version (default: the latest)."`
}

// InstanceSelector chooses instances for a migration or a batch; ended
// instances are never chosen.
type InstanceSelector struct {
	DefinitionID string `json:"definitionId,omitempty"`
	Version      int    `json:"version,omitempty" doc:"Only instances of this definition version."`
	Status       string `json:"status,omitempty" enum:"RUNNING,WAITING,FAILED,"`
	BusinessKey  string `json:"businessKey,omitempty"`
	// The instance search's other filters (GET /api/runtime/instances),
	// so that a batch can take "every instance the list shows".
	BusinessKeyPrefix string     `json:"businessKeyPrefix,omitempty" doc:"Business keys that start with this."`
	StartedFrom       *time.Time `json:"startedFrom,omitempty" doc:"Started at or after this time."`
	StartedBefore     *time.Time `json:"startedBefore,omitempty" doc:"Started before this time."`
	EndedFrom         *time.Time `json:"endedFrom,omitempty" doc:"Ended at or after this time (ended instances are never chosen: for symmetry with the search only)."`
	EndedBefore       *time.Time `json:"endedBefore,omitempty" doc:"Ended before this time."`
	Incident          *bool      `json:"incident,omitempty" doc:"true: only instances with an open incident; false: only those without."`
	Error             string     `json:"error,omitempty" maxLength:"200" doc:"Text in the message of an open incident."`
	Vars              []string   `json:"vars,omitempty" maxItems:"10" doc:"Conditions on variables, as the search's var parameter: amount > 1000."`
}

// MigrateRequest moves running instances to another definition version.
type MigrateRequest struct {
	InstanceIDs      []string          `json:"instanceIds,omitempty" maxItems:"1000" doc:"The instances to migrate (or give filter)."`
	Filter           *InstanceSelector `json:"filter,omitempty" doc:"Chooses the instances (at most 1000; use a batch for more)."`
	TargetDefinition DefinitionRef     `json:"targetDefinition" doc:"The version to migrate to."`
	Mapping          map[string]string `json:"mapping,omitempty" doc:"Source node id to target node id; a node not listed keeps its id."`
	DryRun           bool              `json:"dryRun,omitempty" doc:"Check every instance and change nothing."`
}

// Migration outcomes of one instance.
const (
	MigrationMigrated  = "migrated"
	MigrationValid     = "valid"
	MigrationUnchanged = "unchanged"
	MigrationRefused   = "refused"
)

// MigrateReport says what a migration did to each instance.
type MigrateReport struct {
	DryRun    bool            `json:"dryRun"`
	Total     int             `json:"total"`
	Migrated  int             `json:"migrated" doc:"Migrated (or, in a dry run, would be)."`
	Unchanged int             `json:"unchanged" doc:"Already on the target version."`
	Refused   int             `json:"refused"`
	Instances []MigrateResult `json:"instances"`
}

// MigrateResult is one instance's outcome.
type MigrateResult struct {
	InstanceID string `json:"instanceId"`
	Outcome    string `json:"outcome" enum:"migrated,valid,unchanged,refused"`
	Reason     string `json:"reason,omitempty" doc:"Why it was refused (the node and what is missing)."`
	From       string `json:"from,omitempty"`
	To         string `json:"to,omitempty"`
}

// BatchRequest starts a durable batch operation.
type BatchRequest struct {
	Kind             string              `json:"kind" enum:"cancel,retry,migrate,modify" doc:"cancel instances, retry their incidents, migrate them, or modify each with the same instructions."`
	InstanceIDs      []string            `json:"instanceIds,omitempty" doc:"The instances (or give filter)."`
	Filter           *InstanceSelector   `json:"filter,omitempty" doc:"Chooses the instances when the batch is created."`
	TargetDefinition *DefinitionRef      `json:"targetDefinition,omitempty" doc:"migrate: the version to migrate to (latest: fixed when the batch is created)."`
	Mapping          map[string]string   `json:"mapping,omitempty" doc:"migrate: source node id to target node id."`
	Instructions     []ModifyInstruction `json:"instructions,omitempty" doc:"modify: the instructions applied to each instance (by node: token ids differ between instances)."`
}

// Batch states and item states.
const (
	BatchRunning     = "running"
	BatchDone        = "done"
	BatchItemPending = "pending"
	BatchItemDone    = "done"
	BatchItemFailed  = "failed"
)

// Batch is a batch operation and its progress.
type Batch struct {
	ID         string       `json:"id"`
	Kind       string       `json:"kind"`
	State      string       `json:"state" enum:"running,done"`
	Total      int          `json:"total"`
	Done       int          `json:"done" doc:"Items that succeeded (or found their work already done)."`
	Failed     int          `json:"failed"`
	CreatedBy  string       `json:"createdBy,omitempty"`
	CreatedAt  time.Time    `json:"createdAt"`
	UpdatedAt  time.Time    `json:"updatedAt"`
	FinishedAt *time.Time   `json:"finishedAt,omitempty"`
	Request    BatchRequest `json:"request" doc:"What the batch does (its instances are its items)."`
	// Items is one page of the batch's items (GET /api/runtime/batches/{id}).
	Items []BatchItem `json:"items,omitempty"`
	// NextItems is the cursor of the next page of items ("" at the end).
	NextItems string `json:"nextItems,omitempty"`
}

// BatchItem is one instance of a batch.
type BatchItem struct {
	InstanceID string    `json:"instanceId"`
	State      string    `json:"state" enum:"pending,done,failed"`
	Error      string    `json:"error,omitempty" doc:"Why it failed, or what a done item found (already ended, already migrated)."`
	UpdatedAt  time.Time `json:"updatedAt"`
}

// BatchList is a page of batches.
type BatchList struct {
	Batches []Batch `json:"batches"`
	Next    string  `json:"next,omitempty"`
}

// Modify applies an instance modification and returns the instance after
// it; a refused instruction is a *Problem (422) whose Errors locate it.
func (c *Client) Modify(ctx context.Context, instanceID string, req ModifyRequest) (*Instance, error) {
	var out Instance
	if err := c.post(ctx, "/api/runtime/instance/"+url.PathEscape(instanceID)+"/modify", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Migrate migrates (or with DryRun checks) instances and reports each.
func (c *Client) Migrate(ctx context.Context, req MigrateRequest) (*MigrateReport, error) {
	var out MigrateReport
	if err := c.post(ctx, "/api/runtime/migrate", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateBatch starts a batch operation.
func (c *Client) CreateBatch(ctx context.Context, req BatchRequest) (*Batch, error) {
	var out Batch
	if err := c.post(ctx, "/api/runtime/batches", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Batch returns a batch's progress with the first page of its items.
func (c *Client) Batch(ctx context.Context, id string) (*Batch, error) {
	var out Batch
	if err := c.Do(ctx, http.MethodGet, "/api/runtime/batches/"+url.PathEscape(id), "", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
