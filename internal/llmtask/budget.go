package llmtask

import (
	"context"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/runner"
)

// overBudget reports whether asking the model for j would exceed a token
// budget, and which one in words: the instance's (the definition's
// llm.instanceBudget, else Config.InstanceBudget) or the definition's
// daily one (llm.dailyBudget, over all its instances in the last 24
// hours). A call already recorded is not counted twice: budgets are
// checked before a new call only.
func (c Config) overBudget(ctx context.Context, j *runner.Job) (bool, string, error) {
	instance, daily := c.InstanceBudget, 0
	if d := j.Definition; d != nil && d.LLM != nil {
		if d.LLM.InstanceBudget > 0 {
			instance = d.LLM.InstanceBudget
		}
		daily = d.LLM.DailyBudget
	}
	if instance > 0 {
		rows, err := c.Store.Decisions(ctx, j.InstanceID)
		if err != nil {
			return false, "", err
		}
		spent := 0
		for _, r := range rows {
			spent += r.InputTokens + r.OutputTokens
		}
		if spent >= instance {
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
