package runner

import (
	"context"
	"fmt"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/store"
)

// RecoverRequest says how to recover a failed instance.
type RecoverRequest struct {
	InstanceID string
	// IncidentID picks one incident; default: every open incident.
	IncidentID string
	Variables  map[string]any
	// Action: "retry" (default), "skip" or "move" (to Target).
	Action string
	Target string
	Actor  string
}

// Recover resolves a failed instance's incidents from its last checkpoint.
func (r *Runner) Recover(ctx context.Context, req RecoverRequest) (*engine.State, error) {
	st, _, err := r.InstanceState(ctx, req.InstanceID)
	if err != nil {
		return nil, err
	}
	if len(st.Incidents) == 0 {
		return nil, fmt.Errorf("%w: instance %s is %s", ErrNotFailed, req.InstanceID, st.Status)
	}
	kind := engine.CmdRetry
	switch req.Action {
	case "", "retry":
	case "skip":
		kind = engine.CmdSkip
	case "move":
		kind = engine.CmdMove
		if req.Target == "" {
			return nil, fmt.Errorf("%w: move needs a target node", ErrInvalid)
		}
	default:
		return nil, fmt.Errorf("%w: unknown recover action %q (want retry, skip or move)", ErrInvalid, req.Action)
	}
	var ids []string
	for _, inc := range st.Incidents {
		if req.IncidentID == "" || inc.ID == req.IncidentID {
			ids = append(ids, inc.ID)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("incident %s: %w", req.IncidentID, store.ErrNotFound)
	}
	var out *engine.State
	for i, id := range ids {
		vars := req.Variables
		if i > 0 {
			vars = nil
		}
		out, err = r.Apply(ctx, req.InstanceID, engine.Command{Kind: kind, Ref: id, Target: req.Target, Variables: vars, Actor: req.Actor}, nil)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
