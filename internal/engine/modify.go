package engine

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/batonhq/baton/internal/model"
)

// Instruction operations of a CmdModify (Operate's instance modification).
const (
	OpCancel       = "cancel"       // cancel the token Token, or every token at Node
	OpActivate     = "activate"     // start a new token at Node (in scope Scope)
	OpSetVariables = "setVariables" // merge Variables into a scope
)

// ActActivated: an operator started a token at a node (instance modification).
const ActActivated Action = "activated"

// ActModified heads the history of an instance modification; its result
// lists the instructions.
const ActModified Action = "modified"

// Instruction is one change of an instance modification. All instructions
// of a command are checked before any applies, and apply in one step.
type Instruction struct {
	Op string `json:"op"`
	// Node: for cancel, cancel every token at this node (with everything
	// it holds); for activate, the node to start a token at; for
	// setVariables, a sub-process whose active instance is the scope.
	Node string `json:"node,omitempty"`
	// Token: for cancel, the one token (element instance) to cancel.
	Token int64 `json:"token,omitempty"`
	// Scope is the token holding the sub-process (or event sub-process,
	// or multi-instance iteration) to activate in or set variables of.
	// 0 picks the one active instance of the enclosing sub-process; it
	// must be given when there are several.
	Scope int64 `json:"scope,omitempty"`
	// Variables: for activate, set in the scope the node is activated in
	// (the instance's variables at process level); for setVariables, the
	// variables to merge.
	Variables map[string]any `json:"variables,omitempty"`
}

// InstructionError says which instruction of a modification cannot apply
// and why; it wraps ErrInvalidCommand. Nothing was changed.
type InstructionError struct {
	Index  int    // 0-based position in the command's instructions
	Op     string // the instruction's op
	Node   string // the node it names ("" if none)
	Reason string
}

func (e *InstructionError) Error() string {
	where := fmt.Sprintf("instruction %d (%s", e.Index, e.Op)
	if e.Node != "" {
		where += fmt.Sprintf(" %q", e.Node)
	}
	return where + "): " + e.Reason
}

// Unwrap makes errors.Is(err, ErrInvalidCommand) hold.
func (e *InstructionError) Unwrap() error { return ErrInvalidCommand }

// modPlan is a checked modification: what each instruction resolved to.
type modPlan struct {
	cancel []int64 // tokens to cancel, with what they hold
	scopes []int64 // per instruction: the scope token resolved (activate, setVariables)
	// gone are the tokens that will not survive: cancelled, held by a
	// cancelled token, or scopes left with nothing inside.
	gone map[int64]bool
}

// applyModify checks every instruction against the state, then applies
// them in order in this one step: cancellations close what the tokens
// waited for, activations run their nodes (opening jobs, tasks, timers
// and subscriptions), and a scope that a cancellation leaves empty is
// cancelled with it.
func (s *stepper) applyModify() error {
	ins := s.cmd.Instructions
	if len(ins) == 0 {
		return fmt.Errorf("%w: a modification needs at least one instruction", ErrInvalidCommand)
	}
	p, err := s.planModify(ins)
	if err != nil {
		return err
	}
	summary := make([]map[string]any, 0, len(ins))
	for _, in := range ins {
		m := map[string]any{"op": in.Op}
		if in.Node != "" {
			m["node"] = in.Node
		}
		if in.Token != 0 {
			m["token"] = in.Token
		}
		if len(in.Variables) > 0 {
			m["variables"] = slices.Sorted(maps.Keys(in.Variables))
		}
		summary = append(summary, m)
	}
	s.history("", "", ActModified, map[string]any{"instructions": summary})
	for _, id := range p.cancel {
		s.cancelToken(id)
	}
	// Scopes left empty go too, innermost first (a scope's id is lower
	// than its children's, so descending order is inside-out).
	var empty []int64
	for id := range p.gone {
		empty = append(empty, id)
	}
	slices.Sort(empty)
	for i := len(empty) - 1; i >= 0; i-- {
		s.cancelToken(empty[i])
	}
	for i, in := range ins {
		switch in.Op {
		case OpSetVariables:
			s.setScopeVars(p.scopes[i], in.Variables)
			s.history(in.Node, "", ActVariables, map[string]any{"scope": p.scopes[i], "variables": slices.Sorted(maps.Keys(in.Variables))})
		case OpActivate:
			n := s.def.Node(in.Node)
			s.setScopeVars(p.scopes[i], in.Variables)
			id := s.newToken(n.ID, p.scopes[i], "")
			s.history(n.ID, string(n.Type), ActActivated, nil)
			s.queue = append(s.queue, id)
		}
	}
	return nil
}

// setScopeVars merges vars into the scope held by token scope (0: the
// instance's variables).
func (s *stepper) setScopeVars(scope int64, vars map[string]any) {
	if len(vars) == 0 {
		return
	}
	if scope == 0 {
		s.mergeVars(vars)
		return
	}
	h := s.tok(scope)
	m := maps.Clone(h.Locals)
	if m == nil {
		m = make(map[string]any, len(vars))
	}
	maps.Copy(m, vars)
	h.Locals = m
}

// planModify checks the instructions and resolves them, changing nothing.
func (s *stepper) planModify(ins []Instruction) (*modPlan, error) {
	p := &modPlan{gone: map[int64]bool{}, scopes: make([]int64, len(ins))}
	bad := func(i int, reason string, args ...any) error {
		return &InstructionError{Index: i, Op: ins[i].Op, Node: ins[i].Node, Reason: fmt.Sprintf(reason, args...)}
	}
	// Cancellations first: activations and variables may not go into a
	// scope that is cancelled.
	cancelled := map[int64]bool{}
	for i, in := range ins {
		if in.Op != OpCancel {
			continue
		}
		switch {
		case in.Token != 0 && in.Node != "":
			return nil, bad(i, "give either a node or a token, not both")
		case in.Token != 0:
			if s.tok(in.Token) == nil {
				return nil, bad(i, "token %d is not active", in.Token)
			}
			p.cancel = append(p.cancel, in.Token)
			cancelled[in.Token] = true
		case in.Node != "":
			if s.def.Node(in.Node) == nil {
				return nil, bad(i, "node %q does not exist in %s v%d", in.Node, s.def.ID, s.def.Version)
			}
			n := 0
			for _, t := range s.st.Tokens {
				if t.Node == in.Node {
					p.cancel = append(p.cancel, t.ID)
					cancelled[t.ID] = true
					n++
				}
			}
			if n == 0 {
				return nil, bad(i, "no token is active at node %q", in.Node)
			}
		default:
			return nil, bad(i, "a cancel needs a node or a token")
		}
	}
	// Everything a cancelled token holds goes with it.
	for changed := true; changed; {
		changed = false
		for _, t := range s.st.Tokens {
			if !cancelled[t.ID] && t.Scope != 0 && cancelled[t.Scope] {
				cancelled[t.ID], changed = true, true
			}
		}
	}
	alive := map[int64]bool{} // scopes an activation or variables keep
	activations := 0
	for i, in := range ins {
		switch in.Op {
		case OpCancel:
			continue
		case OpActivate:
			n := s.def.Node(in.Node)
			if in.Node == "" {
				return nil, bad(i, "an activation needs a node")
			}
			if n == nil {
				return nil, bad(i, "node %q does not exist in %s v%d", in.Node, s.def.ID, s.def.Version)
			}
			if reason := activatable(n); reason != "" {
				return nil, bad(i, "%s", reason)
			}
			activations++
			sc, err := s.scopeFor(n.ParentNode(), in.Scope, cancelled)
			if err != nil {
				return nil, bad(i, "%v", err)
			}
			p.scopes[i] = sc
		case OpSetVariables:
			if len(in.Variables) == 0 {
				return nil, bad(i, "no variables to set")
			}
			var scope *model.Node
			if in.Node != "" {
				scope = s.def.Node(in.Node)
				if scope == nil {
					return nil, bad(i, "node %q does not exist in %s v%d", in.Node, s.def.ID, s.def.Version)
				}
			} else if in.Scope != 0 {
				if t := s.tok(in.Scope); t != nil {
					scope = s.def.Node(t.Node)
				}
				if scope == nil {
					return nil, bad(i, "scope token %d is not active", in.Scope)
				}
			}
			sc, err := s.scopeFor(scope, in.Scope, cancelled)
			if err != nil {
				return nil, bad(i, "%v", err)
			}
			p.scopes[i] = sc
		default:
			return nil, bad(i, "unknown op %q (want %s, %s or %s)", in.Op, OpCancel, OpActivate, OpSetVariables)
		}
		for sc := p.scopes[i]; sc != 0; sc = s.tok(sc).Scope {
			alive[sc] = true
		}
	}
	maps.Copy(p.gone, cancelled)
	// A scope whose every child goes, and that no activation keeps, goes.
	for changed := true; changed; {
		changed = false
		for _, t := range s.st.Tokens {
			if p.gone[t.ID] || alive[t.ID] {
				continue
			}
			children, left := 0, 0
			for _, c := range s.st.Tokens {
				if c.Scope == t.ID {
					children++
					if !p.gone[c.ID] {
						left++
					}
				}
			}
			if children > 0 && left == 0 {
				p.gone[t.ID], changed = true, true
			}
		}
	}
	for id := range cancelled {
		delete(p.gone, id) // cancelled explicitly or with their holder
	}
	if activations == 0 {
		left := 0
		for _, t := range s.st.Tokens {
			if !cancelled[t.ID] && !p.gone[t.ID] {
				left++
			}
		}
		if left == 0 {
			return nil, fmt.Errorf("%w: the modification leaves the instance without an active token: cancel the instance instead", ErrInvalidCommand)
		}
	}
	return p, nil
}

// activatable says why a token cannot be started at n ("" if it can).
func activatable(n *model.Node) string {
	switch {
	case n.Type == model.StartEvent:
		return fmt.Sprintf("%q is a start event: activate the node after it", n.ID)
	case n.Type == model.BoundaryEvent:
		return fmt.Sprintf("%q is a boundary event: it fires only with its activity", n.ID)
	case n.Type.IsArtifact():
		return fmt.Sprintf("%q is a %s, not a flow node", n.ID, n.Type)
	case n.TriggeredByEvent:
		return fmt.Sprintf("%q is an event sub-process: activate a node inside it", n.ID)
	case (n.Type == model.ParallelGateway || n.Type == model.InclusiveGateway) && len(n.Incoming()) > 1:
		return fmt.Sprintf("%q is a joining gateway: a token activated there would wait for flows that never arrive", n.ID)
	}
	return ""
}

// scopeFor resolves the token holding scope node sc (nil: the process):
// the token given, or the one active instance of sc. Tokens in gone do
// not count.
func (s *stepper) scopeFor(sc *model.Node, given int64, gone map[int64]bool) (int64, error) {
	if sc == nil {
		if given != 0 {
			return 0, errors.New("the node is at process level: give no scope")
		}
		return 0, nil
	}
	holds := func(t *Token) bool {
		return t.Node == sc.ID && t.Wait == WaitScope && t.Loop == nil && !gone[t.ID]
	}
	if given != 0 {
		t := s.tok(given)
		if t == nil || !holds(t) {
			return 0, fmt.Errorf("token %d does not hold an active instance of scope %q", given, sc.ID)
		}
		return given, nil
	}
	var found []int64
	for i := range s.st.Tokens {
		if t := &s.st.Tokens[i]; holds(t) {
			found = append(found, t.ID)
		}
	}
	switch len(found) {
	case 0:
		return 0, fmt.Errorf("its scope %q is not active (or is cancelled by this modification)", sc.ID)
	case 1:
		return found[0], nil
	}
	return 0, fmt.Errorf("scope %q has %d active instances (tokens %v): name one with scope", sc.ID, len(found), found)
}
