package engine

import (
	"fmt"
	"slices"

	"github.com/batonhq/baton/internal/model"
)

// CmdMigrate moves an instance to another definition version: the
// command's DefinitionID and DefinitionVersion name the target and Mapping
// maps source node ids to target node ids (a node not in Mapping keeps its
// id). It is applied by Migrate, not Step, because it needs both
// definitions.
const CmdMigrate CommandKind = "migrate"

// ActMigrated records a migration on the instance (result: from, to,
// mapping).
const ActMigrated Action = "migrated"

// EffMove re-points the job, task, timer or subscription ID (Type: "job",
// "task", "timer", "subscription") at node NodeID of the instance's new
// definition. What it is and what it holds (a task's assignee, a timer's
// due time) does not change.
const EffMove EffectKind = "move"

// MigrationError says why an instance cannot migrate; it wraps
// ErrInvalidCommand. Nothing was changed.
type MigrationError struct {
	Node   string // the source node concerned ("" for the instance)
	Reason string
}

func (e *MigrationError) Error() string {
	if e.Node == "" {
		return e.Reason
	}
	return fmt.Sprintf("node %q: %s", e.Node, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidCommand) hold.
func (e *MigrationError) Unwrap() error { return ErrInvalidCommand }

// Migrate moves st from definition from to definition to (cmd.Kind
// CmdMigrate, cmd.Mapping). Every token keeps its id, what it waits for
// keeps its id (a user task its assignee and claim, a timer its due
// time): only the nodes they point at change. Boundary and event
// sub-process subscriptions the target has no counterpart for are
// closed, and those it adds are opened. An instance that cannot migrate
// (an active node without a counterpart, a node of another type, an open
// incident) gets a *MigrationError and st is unchanged.
func Migrate(from, to *model.Definition, st *State, cmd Command) (*State, []Effect, error) {
	if from == nil || to == nil || !from.Built() || !to.Built() {
		return st, nil, fmt.Errorf("%w: definition is not built", ErrInvalidCommand)
	}
	if st == nil {
		return st, nil, fmt.Errorf("%w: no state", ErrInvalidCommand)
	}
	if st.Status.Ended() {
		return st, nil, ErrEnded
	}
	if st.DefinitionID != from.ID || st.DefinitionVersion != from.Version {
		return st, nil, fmt.Errorf("%w: instance runs %s v%d, not %s v%d", ErrInvalidCommand, st.DefinitionID, st.DefinitionVersion, from.ID, from.Version)
	}
	m := &migration{from: from, to: to, st: st, mapping: cmd.Mapping}
	if err := m.plan(); err != nil {
		return st, nil, err
	}
	s := &stepper{def: to, st: st, cmd: cmd, now: cmd.Time}
	m.apply(s)
	s.finish()
	return st, s.effects, nil
}

type migration struct {
	from, to *model.Definition
	st       *State
	mapping  map[string]string
	// node maps each token to its target node; keep marks the
	// subscriptions that carry over (the others close).
	node map[int64]*model.Node
	keep map[string]*model.Node
}

// target returns the node source node id maps to, or nil.
func (m *migration) target(id string) *model.Node {
	if to, ok := m.mapping[id]; ok {
		return m.to.Node(to)
	}
	return m.to.Node(id)
}

func (m *migration) plan() error {
	st := m.st
	for from, to := range m.mapping {
		if m.from.Node(from) == nil {
			return &MigrationError{Node: from, Reason: fmt.Sprintf("the mapping names a node %s v%d does not have", m.from.ID, m.from.Version)}
		}
		if m.to.Node(to) == nil {
			return &MigrationError{Node: from, Reason: fmt.Sprintf("mapped to %q, which %s v%d does not have", to, m.to.ID, m.to.Version)}
		}
	}
	if len(st.Incidents) > 0 {
		return &MigrationError{Node: st.Incidents[0].NodeID, Reason: fmt.Sprintf("the instance has %d open incident(s): resolve them first", len(st.Incidents))}
	}
	m.node = make(map[int64]*model.Node, len(st.Tokens))
	for _, t := range st.Tokens {
		src := m.from.Node(t.Node)
		if src == nil {
			return &MigrationError{Node: t.Node, Reason: "the token's node is not in the source definition"}
		}
		dst := m.target(t.Node)
		if dst == nil {
			return &MigrationError{Node: t.Node, Reason: fmt.Sprintf("active, and neither mapped nor present in %s v%d", m.to.ID, m.to.Version)}
		}
		if why := compatible(src, dst); why != "" {
			return &MigrationError{Node: t.Node, Reason: why}
		}
		if t.Comp != nil {
			return &MigrationError{Node: t.Node, Reason: "a compensation is running there: let it finish first"}
		}
		if t.Wait == WaitJoin && t.Via != "" {
			if e := m.to.Edge(t.Via); e == nil || e.TargetNode() != dst {
				return &MigrationError{Node: t.Node, Reason: fmt.Sprintf("a token waits at the join having arrived by flow %q, which does not lead to %q in the target", t.Via, dst.ID)}
			}
		}
		m.node[t.ID] = dst
	}
	// Each token must stay in the scope it is in: its target's parent is
	// the target of its scope holder's node.
	for _, t := range st.Tokens {
		dst := m.node[t.ID]
		var want *model.Node
		if t.Scope != 0 {
			h := st.Token(t.Scope)
			if h == nil {
				return &MigrationError{Node: t.Node, Reason: fmt.Sprintf("its scope token %d is missing", t.Scope)}
			}
			want = m.node[h.ID]
			if h.Node == t.Node && h.Loop != nil {
				want = m.node[h.ID].ParentNode() // a multi-instance iteration
				if dst != m.node[h.ID] {
					return &MigrationError{Node: t.Node, Reason: "a multi-instance iteration must map with its body"}
				}
			}
		}
		if dst.ParentNode() != want {
			return &MigrationError{Node: t.Node, Reason: fmt.Sprintf("maps to %q in scope %s, but its token is in scope %s", dst.ID, scopeName(dst.ParentNode()), scopeName(want))}
		}
	}
	m.keep = map[string]*model.Node{}
	for _, sb := range st.Subs {
		src := m.from.Node(sb.Node)
		dst := m.target(sb.Node)
		own := false // the token's own wait: it must carry over
		if ot := st.Token(sb.Owner); ot != nil {
			if ot.Node == sb.Node {
				own = true
			} else if on := m.from.Node(ot.Node); on != nil && on.Type == model.EventBasedGateway {
				own = true
			}
		}
		ok := src != nil && dst != nil && dst.EventKind() == src.EventKind() && dst.Type == src.Type && subName(dst) == sb.Name
		if ok && !own {
			ok = m.sameOwner(sb, src, dst)
		}
		switch {
		case ok:
			m.keep[sb.ID] = dst
		case own:
			return &MigrationError{Node: sb.Node, Reason: fmt.Sprintf("its %s subscription %q has no counterpart of the same kind and name in %s v%d", sb.Kind, sb.Name, m.to.ID, m.to.Version)}
		}
	}
	return nil
}

// sameOwner reports whether a boundary or event sub-process start
// subscription still belongs to its owner's node in the target.
func (m *migration) sameOwner(sb Sub, src, dst *model.Node) bool {
	var ownerNode *model.Node // nil: the process
	if sb.Owner != 0 {
		ownerNode = m.node[sb.Owner]
	}
	if src.Type == model.BoundaryEvent {
		return ownerNode != nil && dst.AttachedNode() == ownerNode
	}
	if esp := dst.EventSubProcess(); esp != nil {
		return esp.ParentNode() == ownerNode
	}
	return false
}

func (m *migration) apply(s *stepper) {
	st := m.st
	mapped := map[string]string{}
	for _, t := range st.Tokens {
		if dst := m.node[t.ID]; dst.ID != t.Node {
			mapped[t.Node] = dst.ID
		}
	}
	s.history("", "", ActMigrated, map[string]any{
		"from": fmt.Sprintf("%s v%d", m.from.ID, m.from.Version), "to": fmt.Sprintf("%s v%d", m.to.ID, m.to.Version), "mapping": mapped,
	})
	// Close what does not carry over (with the old definition's view of it).
	for _, sb := range slices.Clone(st.Subs) {
		if m.keep[sb.ID] == nil {
			if i := s.findSub(sb.ID); i >= 0 {
				s.cancelSubEffect(sb)
				s.dropSub(i)
			}
		}
	}
	for i := range st.Subs {
		sb := &st.Subs[i]
		if dst := m.keep[sb.ID]; dst.ID != sb.Node {
			typ := "subscription"
			if sb.Kind == SubTimer {
				typ = "timer"
			}
			sb.Node = dst.ID
			s.effect(Effect{Kind: EffMove, ID: sb.ID, NodeID: dst.ID, Type: typ})
		}
	}
	st.DefinitionID, st.DefinitionVersion = m.to.ID, m.to.Version
	for i := range st.Tokens {
		t := &st.Tokens[i]
		dst := m.node[t.ID]
		if dst.ID != t.Node {
			switch t.Wait {
			case WaitJob, WaitTask:
				s.effect(Effect{Kind: EffMove, ID: t.Ref, NodeID: dst.ID, Type: string(t.Wait)})
			}
			t.Node = dst.ID
		}
	}
	// Open what the target adds: boundary events of waiting activities and
	// event sub-process starts of active scopes.
	has := func(owner int64, node string) bool {
		return slices.ContainsFunc(st.Subs, func(sb Sub) bool { return sb.Owner == owner && sb.Node == node })
	}
	for _, id := range tokenIDs(st) {
		t := s.tok(id)
		dst := s.def.Node(t.Node)
		if s.isIteration(t) || !dst.Type.IsActivity() || t.Wait == WaitIncident || t.Wait == "" {
			continue
		}
		for _, b := range dst.Boundaries() {
			switch b.EventKind() {
			case model.EventTimer, model.EventMessage, model.EventSignal, model.EventConditional:
				if !has(id, b.ID) {
					s.subscribe(id, b)
				}
			}
		}
		if t.Wait == WaitScope && t.Loop == nil {
			m.openEventSubs(s, id, dst, has)
		}
	}
	m.openEventSubs(s, 0, nil, has)
	// Completed activities the target no longer has cannot be compensated.
	st.Compensable = m.compensable(st.Compensable)
}

func (m *migration) openEventSubs(s *stepper, owner int64, scope *model.Node, has func(int64, string) bool) {
	for _, esp := range m.to.EventSubProcesses(scope) {
		if start := esp.EventStart(); start != nil && !has(owner, start.ID) {
			s.subscribeEventSub(owner, esp)
		}
	}
}

func (m *migration) compensable(cs []Compensable) []Compensable {
	var out []Compensable
	for _, c := range cs {
		dst := m.target(c.Node)
		if dst == nil {
			continue
		}
		c.Node = dst.ID
		c.Inner = m.compensable(c.Inner)
		out = append(out, c)
	}
	return out
}

func tokenIDs(st *State) []int64 {
	ids := make([]int64, len(st.Tokens))
	for i, t := range st.Tokens {
		ids[i] = t.ID
	}
	return ids
}

// compatible says why a token at src cannot move to dst ("" if it can).
func compatible(src, dst *model.Node) string {
	switch {
	case src.Type != dst.Type:
		return fmt.Sprintf("is a %s but %q in the target is a %s", src.Type, dst.ID, dst.Type)
	case src.EventKind() != dst.EventKind():
		return fmt.Sprintf("is a %s event but %q in the target is a %s event", kindName(src.EventKind()), dst.ID, kindName(dst.EventKind()))
	case (src.MultiInstance == nil) != (dst.MultiInstance == nil):
		return fmt.Sprintf("multi-instance on one side only (%q in the target)", dst.ID)
	case (src.HTTP == nil) != (dst.HTTP == nil) || (src.Notify == nil) != (dst.Notify == nil):
		return fmt.Sprintf("runs another kind of job than %q in the target (an http or notify block on one side only)", dst.ID)
	case src.Type.IsActivity() && src.Type != model.UserTask && src.Type != model.SubProcess && (jobType(src) != jobType(dst) || src.TaskType != dst.TaskType):
		return fmt.Sprintf("its job type %q differs from %q's %q in the target", src.TaskType, dst.ID, dst.TaskType)
	}
	return ""
}

func kindName(k model.EventKind) string {
	if k == model.EventNone {
		return "none"
	}
	return string(k)
}

func scopeName(n *model.Node) string {
	if n == nil {
		return "the process"
	}
	return fmt.Sprintf("%q", n.ID)
}

// subName is the name a subscription of catching node n carries (openSub).
func subName(n *model.Node) string {
	name := ""
	if n.Event != nil {
		name = n.Event.Name
	}
	kind := n.EventKind()
	if n.Type == model.ReceiveTask && kind == model.EventNone {
		kind = model.EventMessage
	}
	if name == "" && kind == model.EventMessage {
		name = n.ID
	}
	return name
}
