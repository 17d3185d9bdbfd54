package llmtask

import (
	"context"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/llm"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

// recorded loads the decisions recorded for j's instance and returns them
// with the one recorded for j itself (nil when there is none): replay
// safety means that answer is used as it is, never asked for again.
func (c Config) recorded(ctx context.Context, j *runner.Job) ([]store.DecisionRow, *store.DecisionRow, error) {
	rows, err := c.Store.Decisions(ctx, j.InstanceID)
	if err != nil {
		return nil, nil, err
	}
	for i := range rows {
		if rows[i].JobID == j.ID && rows[i].ID == j.ID {
			return rows, &rows[i], nil
		}
	}
	return rows, nil, nil
}

// overBudget reports whether asking the model for j would exceed a token
// budget, and which one in words: the instance's (the definition's
// llm.instanceBudget, else Config.InstanceBudget) or the definition's
// daily one (llm.dailyBudget, over all its instances in the last 24
// hours). rows are the instance's recorded decisions. A call already recorded is not counted twice: budgets are
// checked before a new call only.
func (c Config) overBudget(ctx context.Context, j *runner.Job, rows []store.DecisionRow) (bool, string, error) {
	instance, daily := c.InstanceBudget, 0
	if d := j.Definition; d != nil && d.LLM != nil {
		if d.LLM.InstanceBudget > 0 {
			instance = d.LLM.InstanceBudget
		}
		daily = d.LLM.DailyBudget
	}
	if instance > 0 {
		// Saturating, and a negative figure (a record from before usage
		// was validated) counts as nothing rather than as a refund.
		var spent int64
		for _, r := range rows {
			spent = llm.AddSat(spent, int64(max(r.InputTokens, 0)))
			spent = llm.AddSat(spent, int64(max(r.OutputTokens, 0)))
		}
		if spent >= int64(instance) {
			return true, fmt.Sprintf("budget: the instance spent %d tokens, its budget is %d", spent, instance), nil
		}
	}
	if daily > 0 && j.Definition != nil {
		spent, err := c.Store.DecisionTokens(ctx, j.Definition.ID, c.now().Add(-24*time.Hour))
		if err != nil {
			return false, "", err
		}
		if spent >= int64(daily) {
			return true, fmt.Sprintf("budget: definition %s spent %d tokens in 24 hours, its daily budget is %d", j.Definition.ID, spent, daily), nil
		}
	}
	return false, "", nil
}
