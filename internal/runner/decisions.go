package runner

import (
	"context"
	"fmt"

	"github.com/batonhq/baton/internal/dmn"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/store"
)

func parseDecisions(name string, src []byte) ([]*dmn.Decision, error) {
	if model.IsXML(src) {
		return dmn.ParseXML(name, src)
	}
	d, err := dmn.ParseJSON(name, src)
	if err != nil {
		return nil, err
	}
	return []*dmn.Decision{d}, nil
}

// deployDecisions stores every decision of a DMN source as a definition
// row of format "dmn" (one row per decision id, each keeping the whole
// source verbatim).
func (r *Runner) deployDecisions(ctx context.Context, name string, src []byte, by string) (store.DefinitionRow, bool, error) {
	decs, err := parseDecisions(name, src)
	if err != nil {
		return store.DefinitionRow{}, false, err
	}
	var first store.DefinitionRow
	anyCreated := false
	for _, d := range decs {
		if err := r.checkKind(ctx, d.ID(), model.FormatDMN); err != nil {
			return store.DefinitionRow{}, false, err
		}
	}
	for i, d := range decs {
		row, created, err := r.st.Deploy(ctx, r.definitionRow(d.ID(), d.Name(), model.FormatDMN, src, by))
		if err != nil {
			return row, false, fmt.Errorf("deploy decision %s: %w", d.ID(), err)
		}
		if i == 0 {
			first = row
		}
		anyCreated = anyCreated || created
	}
	return first, anyCreated, nil
}

// Decision returns the latest deployed decision table with this id.
func (r *Runner) Decision(ctx context.Context, id string) (*dmn.Decision, store.DefinitionRow, error) {
	row, err := r.st.Definition(ctx, id, 0)
	if err != nil {
		return nil, row, err
	}
	if row.Format != model.FormatDMN {
		return nil, row, fmt.Errorf("%w: %s is a workflow, not a decision table", ErrInvalid, id)
	}
	key := fmt.Sprintf("dmn:%s@%d", row.ID, row.Version)
	r.mu.RLock()
	d := r.decisions[key]
	r.mu.RUnlock()
	if d != nil {
		return d, row, nil
	}
	decs, err := parseDecisions(row.ID, row.Source)
	if err != nil {
		return nil, row, err
	}
	for _, x := range decs {
		if x.ID() == id {
			d = x
		}
	}
	if d == nil {
		return nil, row, fmt.Errorf("decision %s: %w", id, store.ErrNotFound)
	}
	r.mu.Lock()
	r.decisions[key] = d
	r.mu.Unlock()
	return d, row, nil
}

// EvaluateDecision evaluates a deployed decision table over vars.
func (r *Runner) EvaluateDecision(ctx context.Context, id string, vars map[string]any) (dmn.Result, error) {
	d, _, err := r.Decision(ctx, id)
	if err != nil {
		return dmn.Result{}, err
	}
	res, err := d.Evaluate(vars)
	if err != nil {
		return res, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return res, nil
}

// DecisionHandler is the built-in handler of business rule tasks with a
// decisionRef: it evaluates the deployed decision table over the job's
// variables. With a resultVariable the result goes into that variable
// (one value for a single-output single-rule result, else the output
// map); otherwise the outputs are merged into the variables. A table that
// cannot be evaluated (no such decision, UNIQUE with two matches, a type
// mismatch) fails the job permanently, opening an incident.
func (r *Runner) DecisionHandler() Handler {
	return HandlerFunc(func(ctx context.Context, j *Job) (map[string]any, error) {
		if j.Node == nil || j.Node.DecisionRef == "" {
			return nil, Permanent(fmt.Errorf("business rule task %s has no decisionRef", j.NodeID))
		}
		res, err := r.EvaluateDecision(ctx, j.Node.DecisionRef, j.Variables)
		if err != nil {
			return nil, Permanent(fmt.Errorf("decision %s: %w", j.Node.DecisionRef, err))
		}
		out := res.Variables()
		if rv := j.Node.ResultVariable; rv != "" {
			if len(out) == 1 {
				for _, v := range out {
					return map[string]any{rv: v}, nil
				}
			}
			return map[string]any{rv: out}, nil
		}
		return out, nil
	})
}
