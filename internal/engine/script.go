package engine

import (
	"errors"
	"fmt"

	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/script"
)

// ScriptLimits bound every script run by Step (script tasks, JavaScript
// conditions). A script that exceeds them opens an incident.
var ScriptLimits = script.DefaultLimits()

func (s *stepper) runScript(id int64, n *model.Node) {
	t := s.tok(id)
	if n.ScriptLanguage == "feel" {
		// A Zeebe script task: one expression whose value goes into the
		// result variable.
		v, err := n.Expr("script").EvalAt(s.varsFor(t), s.now)
		if err != nil {
			s.incident(id, IncidentScript, err.Error(), "")
			return
		}
		var out map[string]any
		if n.ResultVariable != "" {
			out = map[string]any{n.ResultVariable: v}
		}
		s.completeActivity(id, out)
		return
	}
	changed, result, err := script.Run(n.Script, s.varsFor(t), ScriptLimits)
	if err != nil {
		s.incident(id, IncidentScript, scriptMessage(err), "")
		return
	}
	// Locals (multi-instance items, inputs) stay local.
	for k := range t.Locals {
		delete(changed, k)
	}
	if n.ResultVariable != "" {
		if changed == nil {
			changed = map[string]any{}
		}
		changed[n.ResultVariable] = result
	}
	s.completeActivity(id, changed)
}

// scriptMessage is the incident message for a script error. A run stopped
// by a limit, or whose worker process died, names that cause first:
// "script exceeded its memory limit (256 MiB), at line 3".
func scriptMessage(err error) string {
	var se *script.Error
	if !errors.As(err, &se) {
		return err.Error()
	}
	if errors.Is(err, script.ErrTimeout) || errors.Is(err, script.ErrMemoryLimit) || errors.Is(err, script.ErrWorkerDied) {
		if se.Line > 0 {
			return fmt.Sprintf("%s, at line %d", se.Msg, se.Line)
		}
		return se.Msg
	}
	if se.Line > 0 {
		return fmt.Sprintf("script error at line %d: %s", se.Line, se.Msg)
	}
	return se.Msg
}

// jsCondition evaluates a JavaScript flow condition in the sandbox.
func (s *stepper) jsCondition(e *model.Edge, vars map[string]any) (bool, error) {
	_, result, err := script.Run(e.Condition, vars, ScriptLimits)
	if err != nil {
		return false, errors.New(scriptMessage(err))
	}
	b, ok := result.(bool)
	if !ok {
		return false, fmt.Errorf("JavaScript condition gave %T (%v), want a boolean", result, result)
	}
	return b, nil
}
