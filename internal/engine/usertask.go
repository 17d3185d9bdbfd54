package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/model"
)

func (s *stepper) createTask(id int64, n *model.Node) {
	t := s.tok(id)
	vars := s.varsFor(t)
	info := &TaskInfo{Name: n.Name, CandidateUsers: n.CandidateUsers, CandidateGroups: n.CandidateGroups, FormKey: n.FormKey}
	if info.Name == "" {
		info.Name = n.ID
	}
	var err error
	if info.Assignee, err = s.stringField(n, "assignee", n.Assignee, vars); err != nil {
		s.incident(id, IncidentExpression, err.Error(), "")
		return
	}
	if info.CandidateUsers, err = s.listField(n, "candidateUsers", n.CandidateUsers, vars); err != nil {
		s.incident(id, IncidentExpression, "candidateUsers: "+err.Error(), "")
		return
	}
	if info.CandidateGroups, err = s.listField(n, "candidateGroups", n.CandidateGroups, vars); err != nil {
		s.incident(id, IncidentExpression, "candidateGroups: "+err.Error(), "")
		return
	}
	if info.DueAt, err = s.durationField(n, "dueIn", n.DueIn, vars); err != nil {
		s.incident(id, IncidentExpression, err.Error(), "")
		return
	}
	if info.FollowUpAt, err = s.durationField(n, "followUpIn", n.FollowUpIn, vars); err != nil {
		s.incident(id, IncidentExpression, err.Error(), "")
		return
	}
	if info.Priority, err = s.priorityField(n, vars); err != nil {
		s.incident(id, IncidentExpression, err.Error(), "")
		return
	}
	ref := s.st.refID(s.st.next())
	t.Wait, t.Ref = WaitTask, ref
	s.history(n.ID, string(n.Type), ActWaiting, nil)
	s.effect(Effect{Kind: EffTask, ID: ref, NodeID: n.ID, Task: info, Locals: s.localsFor(t)})
	s.effect(Effect{Kind: EffEvent, Type: string(EventTaskAssigned), ID: ref, NodeID: n.ID})
}

func (s *stepper) stringField(n *model.Node, key, raw string, vars map[string]any) (string, error) {
	p := n.Expr(key)
	if p == nil {
		return raw, nil
	}
	v, err := p.EvalAt(vars, s.now)
	if err != nil {
		return "", fmt.Errorf("%s: %v", key, err)
	}
	if v == nil {
		return "", nil
	}
	return fmt.Sprint(v), nil
}

// listField evaluates list entries that are expressions; an expression
// may yield a list or a comma-separated string.
func (s *stepper) listField(n *model.Node, field string, raw []string, vars map[string]any) ([]string, error) {
	hasExpr := false
	for _, r := range raw {
		if model.IsExpression(r) {
			hasExpr = true
		}
	}
	if !hasExpr {
		return raw, nil
	}
	var out []string
	for i, r := range raw {
		p := n.Expr(fmt.Sprintf("%s:%d", field, i))
		if p == nil {
			out = append(out, r)
			continue
		}
		v, err := p.EvalAt(vars, s.now)
		if err != nil {
			return nil, err
		}
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				out = append(out, fmt.Sprint(e))
			}
		case []string:
			out = append(out, x...)
		case nil:
		default:
			for _, p := range strings.Split(fmt.Sprint(x), ",") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
		}
	}
	return out, nil
}

func (s *stepper) durationField(n *model.Node, key, raw string, vars map[string]any) (time.Time, error) {
	if raw == "" {
		return time.Time{}, nil
	}
	val := raw
	if p := n.Expr(key); p != nil {
		v, err := p.EvalAt(vars, s.now)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s: %v", key, err)
		}
		switch x := v.(type) {
		case time.Time:
			return x, nil
		case nil:
			return time.Time{}, nil
		default:
			val = fmt.Sprint(x)
		}
	}
	if d, err := model.ParseDuration(val); err == nil {
		return s.now.Add(d), nil
	}
	if at, err := parseInstant(val); err == nil {
		return at, nil
	}
	return time.Time{}, fmt.Errorf("%s: %q is neither an ISO 8601 duration nor a date", key, val)
}

// priorityField is a user task's priority: the node's literal or the
// value of its expression (a number or numeric string within range),
// model.DefaultPriority when it sets none.
func (s *stepper) priorityField(n *model.Node, vars map[string]any) (int, error) {
	raw := strings.TrimSpace(n.Priority)
	if raw == "" {
		return model.DefaultPriority, nil
	}
	if p := n.Expr("priority"); p != nil {
		v, err := p.EvalAt(vars, s.now)
		if err != nil {
			return 0, fmt.Errorf("priority: %v", err)
		}
		if v == nil {
			return model.DefaultPriority, nil
		}
		raw = fmt.Sprint(v)
	}
	return model.ParsePriority(raw)
}
