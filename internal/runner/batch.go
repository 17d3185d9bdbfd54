package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/store"
)

// Batch operations: one operation (cancel, retry incidents, migrate) over
// a list of instances or a filter's result, run as a durable job. The
// instances are fixed when the batch is created; whichever node leases
// the batch carries out its pending items, each in the instance's own
// transaction, and records each outcome under its lease. A node that
// dies leaves its lease to expire and another (or itself, restarted)
// takes the batch over where it stopped. An item that ran but whose
// outcome was not recorded runs again and finds its work done (the
// instance already cancelled, already migrated, without incident), so
// every item has exactly one effect.

// Batch kinds.
const (
	BatchCancel  = "cancel"
	BatchRetry   = "retry"
	BatchMigrate = "migrate"
	BatchModify  = "modify"
)

// BatchFilter chooses instances for a batch; zero fields do not filter.
// Instances that have ended are never chosen.
type BatchFilter struct {
	DefinitionID string `json:"definitionId,omitempty"`
	Version      int    `json:"version,omitempty"`
	Status       string `json:"status,omitempty"`
	BusinessKey  string `json:"businessKey,omitempty"`
	// The instance search's other filters; Vars are conditions as
	// store.ParseVarCond reads them.
	BusinessKeyPrefix string    `json:"businessKeyPrefix,omitempty"`
	StartedFrom       time.Time `json:"startedFrom,omitzero"`
	StartedBefore     time.Time `json:"startedBefore,omitzero"`
	EndedFrom         time.Time `json:"endedFrom,omitzero"`
	EndedBefore       time.Time `json:"endedBefore,omitzero"`
	Incident          *bool     `json:"incident,omitempty"`
	Error             string    `json:"error,omitempty"`
	Vars              []string  `json:"vars,omitempty"`
}

// query is the store's form of the filter's search fields; a bad
// variable condition is an ErrInvalid naming it.
func (f BatchFilter) query() (store.InstanceQuery, error) {
	q := store.InstanceQuery{DefinitionVersion: f.Version, BusinessKeyPrefix: f.BusinessKeyPrefix,
		StartedFrom: f.StartedFrom, StartedBefore: f.StartedBefore, EndedFrom: f.EndedFrom, EndedBefore: f.EndedBefore,
		HasIncident: f.Incident, ErrorText: f.Error}
	if f.Version != 0 && f.DefinitionID == "" {
		return q, fmt.Errorf("%w: filter.version needs filter.definitionId", ErrInvalid)
	}
	for i, v := range f.Vars {
		c, err := store.ParseVarCond(v)
		if err != nil {
			return q, fmt.Errorf("%w: filter.vars[%d] %q: %v", ErrInvalid, i, v, err)
		}
		q.Vars = append(q.Vars, c)
	}
	if err := q.Check(); err != nil {
		return q, fmt.Errorf("%w: filter: %v", ErrInvalid, err)
	}
	return q, nil
}

// BatchRequest is a batch to create; it is stored as the batch's request.
type BatchRequest struct {
	Kind        string       `json:"kind"`
	InstanceIDs []string     `json:"instanceIds,omitempty"`
	Filter      *BatchFilter `json:"filter,omitempty"`
	// Migration's target and mapping (kind migrate).
	TargetID      string            `json:"targetDefinitionId,omitempty"`
	TargetVersion int               `json:"targetVersion,omitempty"`
	Mapping       map[string]string `json:"mapping,omitempty"`
	// Instructions of a modification (kind modify), the same for every
	// instance: by node, never by token.
	Instructions []engine.Instruction `json:"instructions,omitempty"`
}

// maxBatchItems bounds a batch's instances.
const maxBatchItems = 1_000_000

// batchState wakes the batch loop when a batch is created.
type batchState struct {
	once sync.Once
	poke chan struct{}
}

func (b *batchState) ch() chan struct{} {
	b.once.Do(func() { b.poke = make(chan struct{}, 1) })
	return b.poke
}

// CreateBatch checks req, fixes its instances and stores the batch; the
// batch loop of some node carries it out.
func (r *Runner) CreateBatch(ctx context.Context, req BatchRequest, actor string) (store.BatchRow, error) {
	switch req.Kind {
	case BatchCancel, BatchRetry:
	case BatchMigrate:
		if req.TargetID == "" && (req.Filter == nil || req.Filter.DefinitionID == "") {
			return store.BatchRow{}, fmt.Errorf("%w: a migration batch needs targetDefinitionId (or a filter naming the definition)", ErrInvalid)
		}
		if req.TargetID == "" {
			req.TargetID = req.Filter.DefinitionID
		}
		d, _, err := r.Definition(ctx, req.TargetID, req.TargetVersion)
		if err != nil {
			return store.BatchRow{}, fmt.Errorf("%w: target definition %s v%d: %v", ErrInvalid, req.TargetID, req.TargetVersion, err)
		}
		req.TargetVersion = d.Version // "latest" is fixed now, not when each item runs
	case BatchModify:
		if err := checkBatchInstructions(req.Instructions); err != nil {
			return store.BatchRow{}, err
		}
	default:
		return store.BatchRow{}, fmt.Errorf("%w: unknown batch kind %q (want cancel, retry, migrate or modify)", ErrInvalid, req.Kind)
	}
	if req.Kind != BatchModify && len(req.Instructions) > 0 {
		return store.BatchRow{}, fmt.Errorf("%w: instructions are for a modify batch, not %s", ErrInvalid, req.Kind)
	}
	if (len(req.InstanceIDs) == 0) == (req.Filter == nil) {
		return store.BatchRow{}, fmt.Errorf("%w: give either instanceIds or a filter", ErrInvalid)
	}
	ids := req.InstanceIDs
	if req.Filter != nil {
		var err error
		if ids, err = r.SelectInstances(ctx, *req.Filter); err != nil {
			return store.BatchRow{}, err
		}
	}
	if len(ids) > maxBatchItems {
		return store.BatchRow{}, fmt.Errorf("%w: %d instances, at most %d in one batch", ErrInvalid, len(ids), maxBatchItems)
	}
	stored := req
	stored.InstanceIDs = nil // they are the items
	blob, err := json.Marshal(stored)
	if err != nil {
		return store.BatchRow{}, err
	}
	b, err := r.st.CreateBatch(ctx, store.BatchRow{ID: NewID(), Kind: req.Kind, Request: blob, CreatedBy: actor, CreatedAt: r.clk.Now()}, ids)
	if err != nil {
		return b, err
	}
	select {
	case r.batch.ch() <- struct{}{}:
	default:
	}
	return b, nil
}

// SelectInstances lists the ids of the instances f chooses that have not
// ended, by id.
func (r *Runner) SelectInstances(ctx context.Context, f BatchFilter) ([]string, error) {
	q, err := f.query()
	if err != nil {
		return nil, err
	}
	var ids []string
	after := ""
	for {
		rows, err := r.st.Instances(ctx, store.InstanceFilter{Status: f.Status, DefinitionID: f.DefinitionID,
			BusinessKey: f.BusinessKey, After: after, Limit: store.MaxLimit, InstanceQuery: q})
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			if (f.Version == 0 || row.DefinitionVersion == f.Version) && !engine.Status(row.Status).Ended() {
				ids = append(ids, row.ID)
			}
		}
		if len(rows) < store.MaxLimit {
			return ids, nil
		}
		if len(ids) > maxBatchItems {
			return nil, fmt.Errorf("%w: the filter chooses more than %d instances", ErrInvalid, maxBatchItems)
		}
		after = rows[len(rows)-1].ID
	}
}

// batchLoop carries out batches until ctx ends: it wakes when a batch is
// created here, and polls for batches created elsewhere or left by a
// node that died.
func (r *Runner) batchLoop(ctx context.Context) {
	for {
		worked, err := r.RunBatch(ctx)
		if err != nil && ctx.Err() == nil {
			r.log.Error("batch", "err", err)
		}
		if worked && err == nil {
			continue
		}
		t := time.NewTimer(r.cfg.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-r.batch.ch():
		case <-t.C:
		}
		t.Stop()
	}
}

// RunBatch leases one batch that needs work and carries out its pending
// items; worked is false when there was none. It stops early, with the
// batch left to whoever leases it next, when ctx ends or the lease is lost.
func (r *Runner) RunBatch(ctx context.Context) (worked bool, err error) {
	now := r.clk.Now()
	b, ok, err := r.st.ClaimBatch(ctx, r.cfg.Owner, now, now.Add(r.cfg.LeaseFor))
	if err != nil || !ok {
		return false, err
	}
	var req BatchRequest
	if err := json.Unmarshal(b.Request, &req); err != nil {
		return true, fmt.Errorf("batch %s: request: %w", b.ID, err)
	}
	req.Kind = b.Kind
	for {
		items, _, err := r.st.BatchItems(ctx, b.ID, store.BatchItemPending, 0, 100)
		if err != nil || len(items) == 0 {
			return true, err
		}
		for _, it := range items {
			if ctx.Err() != nil {
				return true, ctx.Err()
			}
			state, note, err := r.batchItem(ctx, req, it.InstanceID, b.CreatedBy, b.CreatedAt)
			if err != nil {
				return true, fmt.Errorf("batch %s item %s: %w", b.ID, it.InstanceID, err)
			}
			now := r.clk.Now()
			if err := r.st.FinishBatchItem(ctx, b.ID, it.InstanceID, r.cfg.Owner, state, note, now, now.Add(r.cfg.LeaseFor)); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return true, nil // the lease went to another node
				}
				return true, err
			}
		}
	}
}

// batchItem carries out one item and says how it ended; err is for what
// should stop the batch (the store failing), not for a refused item.
func (r *Runner) batchItem(ctx context.Context, req BatchRequest, id, actor string, created time.Time) (state, note string, err error) {
	switch req.Kind {
	case BatchModify:
		return r.batchModify(ctx, req, id, actor, created)
	case BatchMigrate:
		out, err := r.MigrateInstance(ctx, MigrateRequest{InstanceID: id, TargetID: req.TargetID, TargetVersion: req.TargetVersion,
			Mapping: req.Mapping, Actor: actor})
		switch {
		case errors.Is(err, store.ErrNotFound):
			return store.BatchItemFailed, err.Error(), nil
		case err != nil:
			return "", "", err
		case out.Outcome == Refused:
			return store.BatchItemFailed, out.Reason, nil
		}
		return store.BatchItemDone, out.Reason, nil
	case BatchCancel:
		_, err = r.Cancel(ctx, id, actor)
	case BatchRetry:
		_, err = r.Recover(ctx, RecoverRequest{InstanceID: id, Actor: actor})
	default:
		return store.BatchItemFailed, fmt.Sprintf("unknown batch kind %q", req.Kind), nil
	}
	switch {
	case err == nil:
		return store.BatchItemDone, "", nil
	case errors.Is(err, engine.ErrEnded):
		return store.BatchItemDone, "the instance had already ended", nil
	case errors.Is(err, ErrNotFailed):
		return store.BatchItemDone, "no open incident", nil
	case errors.Is(err, store.ErrNotFound):
		return store.BatchItemFailed, err.Error(), nil
	case errors.Is(err, engine.ErrInvalidCommand), errors.Is(err, ErrInvalid), errors.Is(err, engine.ErrStale):
		return store.BatchItemFailed, err.Error(), nil
	}
	return "", "", err
}

// checkBatchInstructions refuses what cannot apply to many instances
// alike: no instruction, an unknown op, a token id (token ids belong to
// one instance).
func checkBatchInstructions(ins []engine.Instruction) error {
	if len(ins) == 0 {
		return fmt.Errorf("%w: a modify batch needs instructions", ErrInvalid)
	}
	for i, x := range ins {
		switch x.Op {
		case "cancel", "activate", "setVariables":
		default:
			return fmt.Errorf("%w: instructions[%d]: unknown op %q (want cancel, activate or setVariables)", ErrInvalid, i, x.Op)
		}
		if x.Token != 0 || x.Scope != 0 {
			return fmt.Errorf("%w: instructions[%d]: a batch names nodes, not tokens or scopes (their ids differ between instances)", ErrInvalid, i)
		}
		if x.Op != "setVariables" && x.Node == "" {
			return fmt.Errorf("%w: instructions[%d]: %s needs a node", ErrInvalid, i, x.Op)
		}
	}
	return nil
}

// batchModify applies the batch's instructions to one instance. When
// they no longer apply (or the instance has ended) and its history already holds a
// modification by the batch's creator since the batch began, the item
// ran before and its outcome was lost (a crash between the two commits):
// it is done, not failed.
func (r *Runner) batchModify(ctx context.Context, req BatchRequest, id, actor string, created time.Time) (string, string, error) {
	_, err := r.Modify(ctx, id, req.Instructions, actor)
	var ie *engine.InstructionError
	switch {
	case err == nil:
		return store.BatchItemDone, "", nil
	case errors.As(err, &ie), errors.Is(err, engine.ErrEnded):
		hist, herr := r.st.History(ctx, id)
		if herr != nil {
			return "", "", herr
		}
		for _, h := range hist {
			if h.Action == "modified" && h.Actor == actor && !h.Time.Before(created) {
				return store.BatchItemDone, "already modified by this batch", nil
			}
		}
		if ie == nil {
			return store.BatchItemFailed, "the instance has ended", nil
		}
		return store.BatchItemFailed, err.Error(), nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, engine.ErrInvalidCommand), errors.Is(err, ErrInvalid), errors.Is(err, engine.ErrStale):
		return store.BatchItemFailed, err.Error(), nil
	}
	return "", "", err
}
