package runner

import (
	"context"
	"sync"

	"github.com/batonhq/baton/internal/model"
)

// DeployCheck is a check a server adds to every workflow deployed through
// the runner: that the broker connections and webhook secrets it names
// are configured, that its webhook paths are free. It returns the
// problems it finds, each naming its node; any problem refuses the deploy
// (an error it returns does too).
type DeployCheck func(ctx context.Context, d *model.Definition) ([]model.Problem, error)

// deployChecks holds the added checks.
type deployChecks struct {
	mu     sync.Mutex
	checks []DeployCheck
}

// AddDeployCheck adds a check run on each workflow before it is stored.
func (r *Runner) AddDeployCheck(c DeployCheck) {
	dc := &r.deployChecks
	dc.mu.Lock()
	dc.checks = append(dc.checks, c)
	dc.mu.Unlock()
}

// runDeployChecks runs the added checks on d.
func (r *Runner) runDeployChecks(ctx context.Context, name string, d *model.Definition) error {
	dc := &r.deployChecks
	dc.mu.Lock()
	checks := append([]DeployCheck(nil), dc.checks...)
	dc.mu.Unlock()
	var probs []model.Problem
	for _, c := range checks {
		p, err := c(ctx, d)
		if err != nil {
			return err
		}
		probs = append(probs, p...)
	}
	if len(probs) == 0 {
		return nil
	}
	for i := range probs {
		if probs[i].File == "" {
			probs[i].File = name
		}
	}
	return &model.ValidationError{Problems: probs}
}
