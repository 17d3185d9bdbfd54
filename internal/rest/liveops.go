package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

// Operations on live instances: modification, migration and batches.

// maxSyncMigration bounds the instances POST /api/runtime/migrate migrates
// in one request; a batch takes any number.
const maxSyncMigration = 1000

type modifyInput struct {
	ID   string `path:"id" doc:"Instance id."`
	Body baton.ModifyRequest
}

type migrateInput struct {
	Body baton.MigrateRequest
}

type migrateOutput struct {
	Body baton.MigrateReport
}

type batchCreateInput struct {
	Body baton.BatchRequest
}

type batchOutput struct {
	Body baton.Batch
}

type batchGetInput struct {
	ID        string `path:"id" doc:"Batch id."`
	ItemState string `query:"itemState" enum:"pending,done,failed" doc:"Only the items in this state."`
	After     string `query:"after" doc:"Items cursor: nextItems of the previous page."`
	Limit     int    `query:"limit" minimum:"1" maximum:"1000" doc:"Items per page (default 100)."`
}

type batchesInput struct {
	After string `query:"after" doc:"Page cursor: the next value of the previous page."`
	Limit int    `query:"limit" minimum:"1" maximum:"1000" doc:"Page size (default 100)."`
	Order string `query:"order" enum:"oldest,newest" doc:"oldest (default) or newest first."`
}

type batchesOutput struct {
	Body baton.BatchList
}

// batchReader is what the batch endpoints read from the store.
type batchReader interface {
	Batch(ctx context.Context, id string) (store.BatchRow, error)
	Batches(ctx context.Context, after string, limit int, newestFirst bool) ([]store.BatchRow, error)
	BatchItems(ctx context.Context, batchID, state string, after int64, limit int) ([]store.BatchItemRow, int64, error)
}

func (s *server) batchStore() batchReader { return s.r.Store() }

func (s *server) registerLiveOps(api huma.API) {
	tags := []string{"Runtime"}
	handle(s, api, huma.Operation{
		OperationID: "modify-instance", Method: http.MethodPost, Path: "/api/runtime/instance/{id}/modify", Tags: tags,
		Summary: "Modify a running instance",
		Description: "Cancels tokens (every token at a node, or one token by id), activates nodes (in a scope, with variables) and sets variables in a scope, " +
			"all in one transaction recorded in the history with the caller. Every instruction is checked before any applies: an unknown node, " +
			"a start or boundary event, a node whose sub-process is not active, or a modification that would leave no token is a 422 naming the " +
			"instruction (errors[].location body.instructions[N]) and changes nothing. Jobs, tasks, timers and subscriptions of cancelled tokens " +
			"are closed; activated nodes open theirs. A scope that the cancellations leave empty is cancelled with them. An ended instance is a 409.",
		Errors: []int{400, 404, 409, 413, 422},
	}, s.modify)
	handle(s, api, huma.Operation{
		OperationID: "migrate-instances", Method: http.MethodPost, Path: "/api/runtime/migrate", Tags: tags,
		Summary: "Migrate running instances to another definition version",
		Description: "Moves each instance (listed, or chosen by filter; at most 1000 — use a batch for more) to the target version, each in its own " +
			"transaction. An instance is refused, untouched, when one of its active nodes is neither mapped nor present in the target, maps to a node " +
			"of another type or scope, or it has an open incident. Waiting user tasks keep their id, assignee and claim; timers keep their due time; " +
			"subscriptions carry over. dryRun checks every instance and changes nothing. The report gives each instance's outcome.",
		Errors: []int{400, 404, 413, 422},
	}, s.migrate)
	handle(s, api, huma.Operation{
		OperationID: "create-batch", Method: http.MethodPost, Path: "/api/runtime/batches", Tags: tags,
		Summary: "Start a batch operation",
		Description: "Cancels, retries the incidents of, migrates or modifies (the same instructions, by node, for each) the listed instances or those a filter chooses " +
			"(the instance search's filters; fixed now, ended instances left out), as a durable job: " +
			"any node carries it out, one instance per transaction, and a batch interrupted by a crash goes on where it stopped after a restart. " +
			"Follow its progress with GET /api/runtime/batches/{id}.",
		DefaultStatus: http.StatusAccepted,
		Errors:        []int{400, 413, 422},
	}, s.createBatch)
	handle(s, api, huma.Operation{
		OperationID: "get-batch", Method: http.MethodGet, Path: "/api/runtime/batches/{id}", Tags: tags,
		Summary: "Get a batch and its progress", Description: "Total, done and failed counts, and one page of the items with each error.",
		Errors: []int{404, 422},
	}, s.getBatch)
	handle(s, api, huma.Operation{
		OperationID: "list-batches", Method: http.MethodGet, Path: "/api/runtime/batches", Tags: tags,
		Summary: "List batch operations", Description: "Batches in the order they were created (oldest first, or newest first with order=newest), one page at a time.",
		Errors: []int{422},
	}, s.listBatches)
}

func (s *server) modify(ctx context.Context, in *modifyInput) (*instanceOutput, error) {
	_, err := s.r.Modify(ctx, in.ID, instructions(in.Body.Instructions), actor(ctx))
	var ie *engine.InstructionError
	switch {
	case errors.As(err, &ie):
		p := newProblem(http.StatusUnprocessableEntity, fmt.Sprintf("instance %q was not modified: %v", in.ID, ie))
		p.Errors = []baton.ProblemError{{Location: fmt.Sprintf("body.instructions[%d]", ie.Index), Message: ie.Reason}}
		return nil, p
	case errors.Is(err, engine.ErrInvalidCommand):
		return nil, newProblem(http.StatusUnprocessableEntity, fmt.Sprintf("instance %q was not modified: %v", in.ID, err))
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("instance %q does not exist: %w", in.ID, store.ErrNotFound)
	case errors.Is(err, engine.ErrEnded):
		return nil, fmt.Errorf("instance %q has ended and cannot be modified: %w", in.ID, err)
	case err != nil:
		return nil, fmt.Errorf("modify instance %q: %w", in.ID, err)
	}
	return s.instanceOut(ctx, in.ID)
}

func selector(f *baton.InstanceSelector) runner.BatchFilter {
	return runner.BatchFilter{DefinitionID: f.DefinitionID, Version: f.Version, Status: f.Status, BusinessKey: f.BusinessKey,
		BusinessKeyPrefix: f.BusinessKeyPrefix, StartedFrom: timeOf(f.StartedFrom), StartedBefore: timeOf(f.StartedBefore),
		EndedFrom: timeOf(f.EndedFrom), EndedBefore: timeOf(f.EndedBefore), Incident: f.Incident, Error: f.Error, Vars: f.Vars}
}

// fromSelector is selector's inverse, for a stored batch's request.
func fromSelector(f *runner.BatchFilter) *baton.InstanceSelector {
	return &baton.InstanceSelector{DefinitionID: f.DefinitionID, Version: f.Version, Status: f.Status, BusinessKey: f.BusinessKey,
		BusinessKeyPrefix: f.BusinessKeyPrefix, StartedFrom: nonZero(f.StartedFrom), StartedBefore: nonZero(f.StartedBefore),
		EndedFrom: nonZero(f.EndedFrom), EndedBefore: nonZero(f.EndedBefore), Incident: f.Incident, Error: f.Error, Vars: f.Vars}
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func nonZero(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func instructions(in []baton.ModifyInstruction) []engine.Instruction {
	ins := make([]engine.Instruction, len(in))
	for i, x := range in {
		ins[i] = engine.Instruction{Op: x.Op, Node: x.Node, Token: x.Token, Scope: x.Scope, Variables: x.Variables}
	}
	return ins
}

func (s *server) migrate(ctx context.Context, in *migrateInput) (*migrateOutput, error) {
	b := in.Body
	if (len(b.InstanceIDs) == 0) == (b.Filter == nil) {
		return nil, newProblem(http.StatusUnprocessableEntity, "give either instanceIds or filter")
	}
	ids := b.InstanceIDs
	if b.Filter != nil {
		var err error
		if ids, err = s.r.SelectInstances(ctx, selector(b.Filter)); err != nil {
			return nil, err
		}
		if len(ids) > maxSyncMigration {
			return nil, newProblem(http.StatusUnprocessableEntity, fmt.Sprintf("the filter chooses %d instances, at most %d migrate in one request: start a batch (POST /api/runtime/batches, kind migrate)", len(ids), maxSyncMigration))
		}
	}
	if b.TargetDefinition.ID != "" {
		if _, _, err := s.r.Definition(ctx, b.TargetDefinition.ID, b.TargetDefinition.Version); err != nil {
			return nil, fmt.Errorf("target definition %s v%d: %w", b.TargetDefinition.ID, b.TargetDefinition.Version, err)
		}
	}
	rep := baton.MigrateReport{DryRun: b.DryRun, Instances: []baton.MigrateResult{}}
	for _, id := range ids {
		out, err := s.r.MigrateInstance(ctx, runner.MigrateRequest{InstanceID: id, TargetID: b.TargetDefinition.ID,
			TargetVersion: b.TargetDefinition.Version, Mapping: b.Mapping, DryRun: b.DryRun, Actor: actor(ctx)})
		switch {
		case errors.Is(err, store.ErrNotFound):
			out.Outcome, out.Reason = runner.Refused, err.Error()
		case err != nil:
			return nil, fmt.Errorf("migrate instance %q: %w", id, err)
		}
		rep.Instances = append(rep.Instances, baton.MigrateResult{InstanceID: id, Outcome: out.Outcome, Reason: out.Reason, From: out.From, To: out.To})
		switch out.Outcome {
		case runner.Migrated, runner.Valid:
			rep.Migrated++
		case runner.Unchanged:
			rep.Unchanged++
		default:
			rep.Refused++
		}
	}
	rep.Total = len(rep.Instances)
	return &migrateOutput{Body: rep}, nil
}

func (s *server) createBatch(ctx context.Context, in *batchCreateInput) (*batchOutput, error) {
	b := in.Body
	req := runner.BatchRequest{Kind: b.Kind, InstanceIDs: b.InstanceIDs, Mapping: b.Mapping}
	if len(b.Instructions) > 0 {
		req.Instructions = instructions(b.Instructions)
	}
	if b.Filter != nil {
		f := selector(b.Filter)
		req.Filter = &f
	}
	if t := b.TargetDefinition; t != nil {
		req.TargetID, req.TargetVersion = t.ID, t.Version
	}
	row, err := s.r.CreateBatch(ctx, req, actor(ctx))
	if errors.Is(err, runner.ErrInvalid) {
		return nil, newProblem(http.StatusUnprocessableEntity, err.Error())
	}
	if err != nil {
		return nil, err
	}
	return &batchOutput{Body: toBatch(row)}, nil
}

func (s *server) getBatch(ctx context.Context, in *batchGetInput) (*batchOutput, error) {
	row, err := s.batchStore().Batch(ctx, in.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("batch %q does not exist: %w", in.ID, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	var after int64
	if in.After != "" {
		if after, err = strconv.ParseInt(in.After, 10, 64); err != nil || after < 0 {
			return nil, newProblem(http.StatusUnprocessableEntity, fmt.Sprintf("after %q is not an items cursor (nextItems of a previous page)", in.After))
		}
	}
	limit := store.ListLimit(in.Limit)
	items, last, err := s.batchStore().BatchItems(ctx, in.ID, in.ItemState, after, limit)
	if err != nil {
		return nil, err
	}
	out := toBatch(row)
	out.Items = make([]baton.BatchItem, 0, len(items))
	for _, it := range items {
		out.Items = append(out.Items, baton.BatchItem{InstanceID: it.InstanceID, State: it.State, Error: it.Error, UpdatedAt: it.UpdatedAt.UTC()})
	}
	if len(items) == limit {
		out.NextItems = strconv.FormatInt(last, 10)
	}
	return &batchOutput{Body: out}, nil
}

func (s *server) listBatches(ctx context.Context, in *batchesInput) (*batchesOutput, error) {
	limit := store.ListLimit(in.Limit)
	rows, err := s.batchStore().Batches(ctx, in.After, limit, in.Order == "newest")
	if err != nil {
		return nil, err
	}
	out := baton.BatchList{Batches: make([]baton.Batch, 0, len(rows))}
	for _, row := range rows {
		out.Batches = append(out.Batches, toBatch(row))
	}
	if len(rows) == limit {
		out.Next = rows[len(rows)-1].ID
	}
	return &batchesOutput{Body: out}, nil
}

func toBatch(row store.BatchRow) baton.Batch {
	b := baton.Batch{ID: row.ID, Kind: row.Kind, State: row.State, Total: row.Total, Done: row.Done, Failed: row.Failed,
		CreatedBy: row.CreatedBy, CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC(), FinishedAt: timePtr(row.FinishedAt)}
	var req runner.BatchRequest
	if json.Unmarshal(row.Request, &req) == nil {
		b.Request = baton.BatchRequest{Kind: row.Kind, Mapping: req.Mapping}
		if f := req.Filter; f != nil {
			b.Request.Filter = fromSelector(f)
		}
		for _, x := range req.Instructions {
			b.Request.Instructions = append(b.Request.Instructions, baton.ModifyInstruction{Op: x.Op, Node: x.Node, Variables: x.Variables})
		}
		if req.TargetID != "" {
			b.Request.TargetDefinition = &baton.DefinitionRef{ID: req.TargetID, Version: req.TargetVersion}
		}
	}
	return b
}
