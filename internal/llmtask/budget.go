package llmtask

import (
	"context"
	"fmt"

	"github.com/batonhq/baton/internal/runner"
)

// overBudget reports whether j's instance has spent its token budget, and
// says which budget in words.
func (c Config) overBudget(ctx context.Context, j *runner.Job) (bool, string, error) {
	if c.InstanceBudget <= 0 {
		return false, "", nil
	}
	rows, err := c.Store.Decisions(ctx, j.InstanceID)
	if err != nil {
		return false, "", err
	}
	spent := 0
	for _, r := range rows {
		spent += r.InputTokens + r.OutputTokens
	}
	if spent >= c.InstanceBudget {
		return true, fmt.Sprintf("budget: the instance spent %d tokens, its budget is %d", spent, c.InstanceBudget), nil
	}
	return false, "", nil
}
