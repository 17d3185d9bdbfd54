// Package handlers registers the job handlers of a Baton server in one
// place, so that `baton serve` and the end-to-end harness (batontest)
// register the same handlers the same way and cannot drift apart: a
// decision table registered with Register in one and RegisterPure in the
// other runs in a job in one and inside the transition in the other.
package handlers

import (
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/llmtask"
	"github.com/batonhq/baton/internal/mcpbridge"
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
	// MCP calls the tools of the configured MCP servers for agent tasks
	// (and lists them for the agent's prompt).
	MCP *mcpbridge.Sources
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
	if d.MCP != nil {
		r.Register(engine.JobMCP, d.MCP.Handler())
	}
	if d.LLM != nil {
		cfg := *d.LLM
		if d.MCP != nil && cfg.MCP == nil {
			cfg.MCP = d.MCP
		}
		r.Register(engine.JobLLMDecision, llmtask.Gateway(cfg))
		r.Register(engine.JobLLMShadow, llmtask.Shadow(cfg))
		r.Register(engine.JobLLMRule, llmtask.Rule(cfg))
		r.Register(engine.JobAgent, llmtask.Agent(cfg))
	}
}
