package runner

import (
	"context"
	"errors"

	"github.com/batonhq/baton/internal/engine"
)

// SetVariables sets variables of a running, waiting or failed instance
// from outside (an operator's edit): each replaces the variable of its
// name, and the history records what was set and by whom. An ended
// instance is engine.ErrEnded.
func (r *Runner) SetVariables(ctx context.Context, instanceID string, vars map[string]any, actor string) (*engine.State, error) {
	if len(vars) == 0 {
		return nil, errors.New("no variables to set")
	}
	return r.Apply(ctx, instanceID, engine.Command{Kind: engine.CmdSetVariables, Variables: vars, Actor: actor}, nil)
}
