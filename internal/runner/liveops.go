package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/store"
)

// Operations on live instances: modification (engine.CmdModify through
// Apply) and migration to another definition version (engine.Migrate,
// committed here with the same optimistic retry as Apply).

// Modify applies an instance modification's instructions in one
// transition, recorded in the history with the actor. A refused
// instruction is an *engine.InstructionError and nothing changes.
func (r *Runner) Modify(ctx context.Context, instanceID string, ins []engine.Instruction, actor string) (*engine.State, error) {
	return r.Apply(ctx, instanceID, engine.Command{Kind: engine.CmdModify, Instructions: ins, Actor: actor}, nil)
}

// MigrateRequest moves one instance to another definition version.
type MigrateRequest struct {
	InstanceID string
	// TargetID is the target definition ("": the instance's own);
	// TargetVersion its version (0: the latest).
	TargetID      string
	TargetVersion int
	// Mapping maps source node ids to target node ids; a node not in it
	// keeps its id.
	Mapping map[string]string
	// DryRun checks the migration and commits nothing.
	DryRun bool
	Actor  string
}

// Migration outcomes.
const (
	Migrated  = "migrated"  // committed
	Valid     = "valid"     // a dry run found nothing in the way
	Unchanged = "unchanged" // the instance already runs the target
	Refused   = "refused"   // Reason says why; nothing changed
)

// MigrateOutcome is what a migration did to one instance.
type MigrateOutcome struct {
	InstanceID string
	From, To   string // "id vN"
	Outcome    string // Migrated, Valid, Unchanged or Refused
	Reason     string
}

// MigrateInstance migrates one instance in its own transaction. A
// migration the instance does not allow (unmapped node, ended instance,
// open incident) is an outcome with Refused, not an error; errors are
// for what could not be checked (unknown instance or target, store).
func (r *Runner) MigrateInstance(ctx context.Context, req MigrateRequest) (MigrateOutcome, error) {
	out := MigrateOutcome{InstanceID: req.InstanceID}
	var lastErr error
	for attempt := 0; attempt < maxConflictRetries; attempt++ {
		row, err := r.st.Instance(ctx, req.InstanceID)
		if err != nil {
			return out, err
		}
		from, _, err := r.Definition(ctx, row.DefinitionID, row.DefinitionVersion)
		if err != nil {
			return out, err
		}
		targetID := req.TargetID
		if targetID == "" {
			targetID = row.DefinitionID
		}
		to, _, err := r.Definition(ctx, targetID, req.TargetVersion)
		if err != nil {
			return out, fmt.Errorf("target definition %s v%d: %w", targetID, req.TargetVersion, err)
		}
		out.From = fmt.Sprintf("%s v%d", from.ID, from.Version)
		out.To = fmt.Sprintf("%s v%d", to.ID, to.Version)
		if from == to || (from.ID == to.ID && from.Version == to.Version) {
			out.Outcome, out.Reason = Unchanged, "the instance already runs "+out.To
			return out, nil
		}
		st, err := decodeState(row.State)
		if err != nil {
			return out, fmt.Errorf("instance %s: %w", req.InstanceID, err)
		}
		prevStatus := string(st.Status)
		cmd := engine.Command{Kind: engine.CmdMigrate, Time: r.clk.Now(), DefinitionID: to.ID, DefinitionVersion: to.Version,
			Mapping: req.Mapping, Actor: req.Actor}
		st, eff, err := engine.Migrate(from, to, st, cmd)
		var me *engine.MigrationError
		switch {
		case errors.As(err, &me):
			out.Outcome, out.Reason = Refused, me.Error()
			return out, nil
		case errors.Is(err, engine.ErrEnded):
			out.Outcome, out.Reason = Refused, "the instance has ended ("+row.Status+")"
			return out, nil
		case err != nil:
			return out, err
		}
		if req.DryRun {
			out.Outcome = Valid
			return out, nil
		}
		_, err = r.commit(ctx, stepResult{def: to, state: st, effects: eff, prevVersion: row.Version, prevStatus: prevStatus, cmd: cmd}, nil)
		if err == nil {
			out.Outcome = Migrated
			return out, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return out, err
		}
		lastErr = err
		if err := sleep(ctx, time.Duration(attempt)*time.Millisecond); err != nil {
			return out, err
		}
	}
	return out, fmt.Errorf("instance %s: gave up after %d conflicts: %w", req.InstanceID, maxConflictRetries, lastErr)
}

// retargets are the store rows an engine.EffMove re-points: a task comes
// with its SLA watch, a timer is a job.
func retargets(e engine.Effect) []store.Retarget {
	switch e.Type {
	case string(engine.WaitTask):
		return []store.Retarget{{Kind: "task", ID: e.ID, NodeID: e.NodeID}, {Kind: "job", ID: slaJobID(e.ID), NodeID: e.NodeID}}
	case "subscription":
		return []store.Retarget{{Kind: "subscription", ID: e.ID, NodeID: e.NodeID}}
	}
	return []store.Retarget{{Kind: "job", ID: e.ID, NodeID: e.NodeID}}
}
