package model

import "maps"

// Unbuilt returns a deep copy of d's exported fields, not yet built, so a
// caller can change it (substitute conditions, add a node) and Build again.
func (d *Definition) Unbuilt() *Definition {
	c := &Definition{ID: d.ID, Name: d.Name, Description: d.Description, Version: d.Version, Source: d.Source,
		UniqueBusinessKey: d.UniqueBusinessKey, ExpressionLanguage: d.ExpressionLanguage, VersionTag: d.VersionTag,
		Retention: d.Retention}
	if d.TaskListColumns != nil {
		c.TaskListColumns = append([]TaskListColumn{}, d.TaskListColumns...)
	}
	if d.LLM != nil {
		x := *d.LLM
		c.LLM = &x
	}
	c.Nodes = make([]*Node, len(d.Nodes))
	for i, n := range d.Nodes {
		if n == nil {
			continue
		}
		m := Node{
			ID: n.ID, Type: n.Type, Name: n.Name, Description: n.Description, Parent: n.Parent,
			AttachedTo: n.AttachedTo, NonInterrupting: n.NonInterrupting, TriggeredByEvent: n.TriggeredByEvent, Default: n.Default,
			Compensation: n.Compensation, ForCompensation: n.ForCompensation,
			Script: n.Script, ScriptLanguage: n.ScriptLanguage, ResultVariable: n.ResultVariable,
			TaskType: n.TaskType, DecisionRef: n.DecisionRef, CalledElement: n.CalledElement, Rules: n.Rules,
			Assignee: n.Assignee, DueIn: n.DueIn, FollowUpIn: n.FollowUpIn, FormKey: n.FormKey, Priority: n.Priority,
			Line: n.Line,
		}
		if n.Event != nil {
			ev := *n.Event
			if ev.Timer != nil {
				tm := *ev.Timer
				ev.Timer = &tm
			}
			if ev.WaitForCompletion != nil {
				w := *ev.WaitForCompletion
				ev.WaitForCompletion = &w
			}
			m.Event = &ev
		}
		if n.HTTP != nil {
			h := *n.HTTP
			h.Headers, h.Query, h.Errors = maps.Clone(h.Headers), maps.Clone(h.Query), maps.Clone(h.Errors)
			h.Response = append([]Mapping(nil), h.Response...)
			h.RetryOn = append([]int(nil), h.RetryOn...)
			m.HTTP = &h
		}
		if n.Notify != nil {
			x := *n.Notify
			m.Notify = &x
		}
		if n.Retry != nil {
			x := *n.Retry
			m.Retry = &x
		}
		if n.LLM != nil {
			x := *n.LLM
			x.ReviewGroups = append([]string(nil), x.ReviewGroups...)
			m.LLM = &x
		}
		if n.Agent != nil {
			x := *n.Agent
			x.Guards = cloneGuards(x.Guards)
			x.MCP = append([]string(nil), x.MCP...)
			m.Agent = &x
		}
		if n.AdHoc != nil {
			x := *n.AdHoc
			m.AdHoc = &x
		}
		if len(n.InputSchema) > 0 {
			m.InputSchema = append([]byte(nil), n.InputSchema...)
		}
		if n.MultiInstance != nil {
			x := *n.MultiInstance
			m.MultiInstance = &x
		}
		if n.Loop != nil {
			x := *n.Loop
			m.Loop = &x
		}
		m.CandidateUsers = append([]string(nil), n.CandidateUsers...)
		m.CandidateGroups = append([]string(nil), n.CandidateGroups...)
		if len(n.OutputSchema) > 0 {
			m.OutputSchema = append([]byte(nil), n.OutputSchema...)
		}
		m.Form = append([]byte(nil), n.Form...)
		if len(n.Form) == 0 {
			m.Form = nil
		}
		m.Inputs = append([]Mapping(nil), n.Inputs...)
		m.Outputs = append([]Mapping(nil), n.Outputs...)
		m.Extensions = maps.Clone(n.Extensions)
		c.Nodes[i] = &m
	}
	c.Edges = make([]*Edge, len(d.Edges))
	for i, e := range d.Edges {
		if e == nil {
			continue
		}
		c.Edges[i] = &Edge{ID: e.ID, Name: e.Name, Description: e.Description, Source: e.Source, Target: e.Target, Condition: e.Condition, Language: e.Language, Line: e.Line}
	}
	return c
}
