// Package handlers registers the job handlers of a Baton server in one
// place, so that `baton serve` and the end-to-end harness (batontest)
// register the same handlers the same way and cannot drift apart: a
// decision table registered with Register in one and RegisterPure in the
// other runs in a job in one and inside the transition in the other.
package handlers

import (
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/llmtask"
	"github.com/batonhq/baton/internal/runner"
)

// Deps are the handlers that need something from outside the runner. A
// nil one is not registered: its jobs wait for an external worker (or for
// a handler a test registers).
type Deps struct {
	// Service runs service tasks: HTTP calls (httpcall.Handler).
	Service runner.Handler
	// Send runs send tasks: notifications (notify.Handler).
	Send runner.Handler
	// LLM configures LLM decisions, shadows, rules and agent steps.
	LLM *llmtask.Config
}

// Register registers on r the runner's built-in handlers and those of d.
func Register(r *runner.Runner, d Deps) {
	// Decision tables are evaluated in-process with no effect outside:
	// inside the transition that reaches the business rule task.
	r.RegisterPure(engine.JobBusinessRule, r.DecisionHandler())
	r.Register(engine.JobService+":"+runner.ReassignType, r.ReassignHandler())
	if d.Service != nil {
		r.Register(engine.JobService, d.Service)
	}
	if d.Send != nil {
		r.Register(engine.JobSend, d.Send)
	}
	if d.LLM != nil {
		r.Register(engine.JobLLMDecision, llmtask.Gateway(*d.LLM))
		r.Register(engine.JobLLMShadow, llmtask.Shadow(*d.LLM))
		r.Register(engine.JobLLMRule, llmtask.Rule(*d.LLM))
		r.Register(engine.JobAgent, llmtask.Agent(*d.LLM))
	}
}
