package engine

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/expr"
	"github.com/batonhq/baton/internal/model"
)

// Errors returned by Step for commands that cannot apply. A rejected
// command leaves the state unchanged.
var (
	// ErrInvalidCommand: the command is malformed or unknown.
	ErrInvalidCommand = errors.New("invalid command")
	// ErrStale: the job, task, subscription or incident the command names
	// is not (or no longer) waited on by this instance.
	ErrStale = errors.New("nothing waits for this")
	// ErrEnded: the instance has completed or been cancelled.
	ErrEnded = errors.New("instance has ended")
	// ErrNoSubscription: no subscription matches a message or signal.
	ErrNoSubscription = errors.New("no matching subscription")
)

// maxEntries bounds the node entries of one Step, so that a loop without a
// wait state becomes an incident instead of hanging the engine.
const maxEntries = 10_000

// Step applies cmd to st and returns the new state, the effects to carry
// out, or an error for a command that cannot apply (then st is unchanged).
//
// Step takes ownership of st and may modify it in place; the returned state
// is st itself for every command but CmdStart (where st may be nil). Step is
// deterministic: the same definition, state and command always give the
// same result. Failures while running (an expression that cannot be
// evaluated, a script error, a gateway with no flow to take) are not errors
// of Step: they open incidents in the returned state.
func Step(def *model.Definition, st *State, cmd Command) (*State, []Effect, error) {
	if def == nil || !def.Built() {
		return st, nil, fmt.Errorf("%w: definition is not built", ErrInvalidCommand)
	}
	var sp stepper
	s := &sp
	s.def, s.cmd, s.now = def, cmd, cmd.Time
	if cmd.Kind == CmdStart {
		// One allocation holds the state and the first tokens, history
		// entries and effects of a typical instance.
		a := new(startAlloc)
		st = &a.st
		st.Tokens = a.tokens[:0]
		st.History = a.hist[:0]
		s.effects = a.eff[:0]
		s.queue = a.queue[:0]
		s.st = st
		if err := s.start(); err != nil {
			return nil, nil, err
		}
	} else {
		if st == nil {
			return st, nil, fmt.Errorf("%w: no state", ErrInvalidCommand)
		}
		if st.Status.Ended() {
			return st, nil, ErrEnded
		}
		s.st = st
		s.queue = st.queue[:0]
		if err := s.apply(); err != nil {
			return st, nil, err
		}
	}
	s.run()
	s.finish()
	st.queue = s.queue[:0]
	return st, s.effects, nil
}

type startAlloc struct {
	st     State
	tokens [2]Token
	hist   [8]HistoryEntry
	eff    [2]Effect
	queue  [8]int64
}

// noVars is the empty variable set expressions see when an instance has
// none. Expressions never write to it.
var noVars = map[string]any{}

type stepper struct {
	def     *model.Definition
	st      *State
	cmd     Command
	now     time.Time
	effects []Effect
	queue   []int64
	entries int
}

// ---- commands ----

func (s *stepper) start() error {
	c := &s.cmd
	if c.InstanceID == "" {
		return fmt.Errorf("%w: start needs an instance id", ErrInvalidCommand)
	}
	st := s.st
	st.InstanceID = c.InstanceID
	st.DefinitionID = s.def.ID
	st.DefinitionVersion = s.def.Version
	st.BusinessKey = c.BusinessKey
	st.Status = StatusRunning
	st.Simulate = c.Simulate
	st.StartedAt = c.Time
	if len(c.Variables) > 0 {
		st.Variables = make(map[string]any, len(c.Variables))
		for k, v := range c.Variables {
			st.Variables[k] = v
		}
	}
	var starts []*model.Node
	if c.StartNode != "" {
		n := s.def.Node(c.StartNode)
		if n == nil || n.Type != model.StartEvent || n.ParentNode() != nil {
			return fmt.Errorf("%w: %q is not a start event of the process", ErrInvalidCommand, c.StartNode)
		}
		starts = []*model.Node{n}
	} else {
		starts = s.scopeStarts(nil)
	}
	s.history("", "", ActStarted, nil)
	for _, n := range starts {
		id := s.newToken(n.ID, 0, "")
		if c.StartNode == "" && n.Type == model.StartEvent && n.EventKind() != model.EventNone {
			// A process with only event starts waits at them.
			s.waitEvent(s.tok(id), n)
			continue
		}
		s.queue = append(s.queue, id)
	}
	return nil
}

// scopeStarts returns where a scope (nil: the process) starts.
func (s *stepper) scopeStarts(scope *model.Node) []*model.Node {
	return s.def.StartNodes(scope)
}

func (s *stepper) apply() error {
	c := &s.cmd
	st := s.st
	switch c.Kind {
	case CmdCompleteJob, CmdFailJob, CmdThrowError:
		t := s.findWait(WaitJob, c.Ref)
		if t == nil {
			return fmt.Errorf("%w: job %q", ErrStale, c.Ref)
		}
		switch c.Kind {
		case CmdCompleteJob:
			switch n := s.def.Node(t.Node); n.Type {
			case model.ExclusiveGateway:
				s.gatewayDecided(t.ID, n, c.Target, c.Name, c.Variables)
				return nil
			case model.AgentTask:
				s.agentAnswered(t.ID, n, c.Variables)
				return nil
			}
			s.completeActivity(t.ID, c.Variables)
		case CmdFailJob:
			n := s.def.Node(t.Node)
			msg := c.ErrorMessage
			if msg == "" {
				msg = "job failed"
			}
			t.Ref = ""
			s.incident(t.ID, "job", msg, jobType(n))
		case CmdThrowError:
			s.mergeVars(c.Variables)
			t.Wait, t.Ref = "", ""
			s.throwError(t.ID, c.ErrorCode, c.ErrorMessage)
		}
	case CmdCompleteTask:
		t := s.findWait(WaitTask, c.Ref)
		if t == nil {
			return fmt.Errorf("%w: task %q", ErrStale, c.Ref)
		}
		if n := s.def.Node(t.Node); n.Type == model.ExclusiveGateway {
			// A person reviewed a model's decision: "flow" is the choice.
			flow, _ := c.Variables["flow"].(string)
			s.gatewayReviewed(t.ID, n, flow)
			return nil
		}
		s.completeActivity(t.ID, c.Variables)
	case CmdFireTimer:
		i := s.findSub(c.Ref)
		if i < 0 || st.Subs[i].Kind != SubTimer {
			return fmt.Errorf("%w: timer %q", ErrStale, c.Ref)
		}
		s.deliver(i, nil)
	case CmdMessage:
		i := -1
		if c.Ref != "" {
			i = s.findSub(c.Ref)
			if i < 0 {
				return fmt.Errorf("%w: subscription %q", ErrStale, c.Ref)
			}
		} else {
			i = s.matchSub(SubMessage, c.Name, c.Key)
			if i < 0 {
				return fmt.Errorf("%w: message %q key %q", ErrNoSubscription, c.Name, c.Key)
			}
		}
		s.deliver(i, c.Variables)
	case CmdSignal:
		var ids []string
		for _, sb := range st.Subs {
			if sb.Kind == SubSignal && sb.Name == c.Name {
				ids = append(ids, sb.ID)
			}
		}
		if len(ids) == 0 {
			return fmt.Errorf("%w: signal %q", ErrNoSubscription, c.Name)
		}
		for _, id := range ids {
			if i := s.findSub(id); i >= 0 {
				s.deliver(i, c.Variables)
			}
		}
	case CmdCancel:
		s.cancelAll()
		st.Status = StatusCancelled
		st.EndedAt = s.now
		s.history("", "", ActCancelled, nil)
	case CmdRetry, CmdSkip:
		inc := s.findIncident(c.Ref)
		if inc < 0 {
			return fmt.Errorf("%w: incident %q", ErrStale, c.Ref)
		}
		tokID := st.Incidents[inc].Token
		s.resolveIncident(inc)
		s.mergeVars(c.Variables)
		t := s.tok(tokID)
		if t == nil {
			return nil
		}
		t.Wait, t.Ref = "", ""
		if c.Kind == CmdRetry {
			s.queue = append(s.queue, tokID)
		} else {
			s.skip(tokID)
		}
	case CmdMove:
		target := s.def.Node(c.Target)
		if target == nil {
			return fmt.Errorf("%w: node %q does not exist", ErrInvalidCommand, c.Target)
		}
		var t *Token
		if c.Ref != "" {
			inc := s.findIncident(c.Ref)
			if inc < 0 {
				return fmt.Errorf("%w: incident %q", ErrStale, c.Ref)
			}
			t = s.tok(st.Incidents[inc].Token)
		} else {
			t = s.tok(c.Token)
		}
		if t == nil {
			return fmt.Errorf("%w: token %d", ErrStale, c.Token)
		}
		from := s.def.Node(t.Node)
		if from != nil && from.ParentNode() != target.ParentNode() {
			return fmt.Errorf("%w: cannot move a token from %q to %q in another scope", ErrInvalidCommand, t.Node, target.ID)
		}
		if target.Type == model.BoundaryEvent || target.Type.IsArtifact() {
			return fmt.Errorf("%w: cannot move a token to %s %q", ErrInvalidCommand, target.Type, target.ID)
		}
		if c.Ref != "" {
			s.resolveIncident(s.findIncident(c.Ref))
		}
		s.mergeVars(c.Variables)
		id := t.ID
		s.cancelWait(t)
		t = s.tok(id)
		s.history(t.Node, "", ActMoved, map[string]any{"to": target.ID})
		t.Node, t.Via, t.Wait, t.Ref, t.Loop, t.Locals = target.ID, "", "", "", nil, nil
		s.queue = append(s.queue, id)
	case CmdNote:
		if c.Name == "" {
			return fmt.Errorf("%w: a note needs a name", ErrInvalidCommand)
		}
		typ := ""
		if n := s.def.Node(c.Target); n != nil {
			typ = string(n.Type)
		}
		s.history(c.Target, typ, Action(c.Name), c.Variables)
	case CmdSetVariables:
		s.mergeVars(c.Variables)
		s.history("", "", ActVariables, nil)
	default:
		return fmt.Errorf("%w: unknown kind %q", ErrInvalidCommand, c.Kind)
	}
	return nil
}

// ---- token helpers ----

func (s *stepper) newToken(node string, scope int64, via string) int64 {
	id := s.st.next()
	s.st.Tokens = append(s.st.Tokens, Token{ID: id, Node: node, Scope: scope, Via: via})
	return id
}

func (s *stepper) tok(id int64) *Token { return s.st.Token(id) }

func (s *stepper) removeToken(id int64) {
	ts := s.st.Tokens
	for i := range ts {
		if ts[i].ID == id {
			copy(ts[i:], ts[i+1:])
			ts[len(ts)-1] = Token{}
			s.st.Tokens = ts[:len(ts)-1]
			return
		}
	}
}

func (s *stepper) findWait(kind WaitKind, ref string) *Token {
	if ref == "" {
		return nil
	}
	for i := range s.st.Tokens {
		t := &s.st.Tokens[i]
		if t.Wait == kind && t.Ref == ref {
			return t
		}
	}
	return nil
}

func (s *stepper) findSub(id string) int {
	for i := range s.st.Subs {
		if s.st.Subs[i].ID == id {
			return i
		}
	}
	return -1
}

// matchSub finds the earliest subscription of kind with name and key.
func (s *stepper) matchSub(kind SubKind, name, key string) int {
	best := -1
	for i, sb := range s.st.Subs {
		if sb.Kind == kind && sb.Name == name && (sb.Key == key || sb.Key == "") {
			if best < 0 || sb.Seq < s.st.Subs[best].Seq {
				best = i
			}
		}
	}
	return best
}

func (s *stepper) findIncident(id string) int {
	for i := range s.st.Incidents {
		if s.st.Incidents[i].ID == id {
			return i
		}
	}
	return -1
}

func (s *stepper) effect(e Effect) { s.effects = append(s.effects, e) }

func (s *stepper) history(node, typ string, a Action, result any) {
	s.st.History = append(s.st.History, HistoryEntry{NodeID: node, NodeType: typ, Action: a, Timestamp: s.now, Result: result, Actor: s.cmd.Actor})
}

func (s *stepper) completed(n *model.Node) {
	s.history(n.ID, string(n.Type), ActCompleted, nil)
}

func (s *stepper) mergeVars(v map[string]any) {
	if len(v) == 0 {
		return
	}
	if s.st.Variables == nil {
		s.st.Variables = make(map[string]any, len(v))
	}
	for k, x := range v {
		s.st.Variables[k] = x
	}
}

// varsFor returns the variables an expression of token t sees: the
// instance variables overlaid with the token's locals.
func (s *stepper) varsFor(t *Token) map[string]any {
	if t == nil || len(t.Locals) == 0 {
		if s.st.Variables == nil {
			return noVars
		}
		return s.st.Variables
	}
	m := make(map[string]any, len(s.st.Variables)+len(t.Locals))
	for k, v := range s.st.Variables {
		m[k] = v
	}
	for k, v := range t.Locals {
		m[k] = v
	}
	return m
}

// ---- the run loop ----

func (s *stepper) run() {
	for {
		for len(s.queue) > 0 {
			id := s.queue[0]
			s.queue = s.queue[1:]
			if s.st.Status.Ended() {
				s.queue = nil
				return
			}
			t := s.tok(id)
			if t == nil || t.Wait != "" {
				continue
			}
			s.entries++
			if s.entries > maxEntries {
				s.incident(id, "loop", fmt.Sprintf("more than %d steps without a wait state: the process loops without end", maxEntries), "")
				continue
			}
			s.enter(t)
		}
		if !s.settleInclusive() {
			return
		}
	}
}

// finish sets the instance status after the queue drained.
func (s *stepper) finish() {
	st := s.st
	if st.Status.Ended() {
		return
	}
	if len(st.Tokens) == 0 {
		st.Status = StatusCompleted
		st.EndedAt = s.now
		// Boundary and leftover subscriptions die with the instance.
		for _, sb := range st.Subs {
			s.cancelSubEffect(sb)
		}
		st.Subs = nil
		s.history("", "", ActCompleted, nil)
		return
	}
	if len(st.Incidents) > 0 {
		st.Status = StatusFailed
		return
	}
	st.Status = StatusWaiting
	for _, t := range st.Tokens {
		if t.Wait == WaitJob {
			st.Status = StatusRunning
			return
		}
	}
}

// enter executes node semantics for a token that just arrived at its node.
func (s *stepper) enter(t *Token) {
	n := s.def.Node(t.Node)
	if n == nil {
		s.incident(t.ID, "model", fmt.Sprintf("node %q does not exist in definition %s v%d", t.Node, s.def.ID, s.def.Version), "")
		return
	}
	id := t.ID
	switch n.Type {
	case model.StartEvent:
		s.completed(n)
		s.leave(id, n)
	case model.EndEvent:
		s.endEvent(id, n)
	case model.IntermediateThrowEvent:
		s.throwEvent(id, n)
	case model.IntermediateCatchEvent:
		if n.EventKind() == model.EventLink {
			s.completed(n)
			s.leave(id, n)
			return
		}
		s.waitEvent(t, n)
	case model.BoundaryEvent:
		// Reached only through Move: behave as if it fired.
		s.completed(n)
		s.leave(id, n)
	case model.ExclusiveGateway:
		if n.LLM != nil && !s.st.Simulate {
			s.llmGateway(id, n)
			return
		}
		s.exclusive(id, n)
	case model.ParallelGateway:
		if len(n.Incoming()) > 1 {
			t.Wait = WaitJoin
			s.tryParallelJoin(n, t.Scope)
			return
		}
		s.completed(n)
		s.fork(id, n, n.Outgoing())
	case model.InclusiveGateway:
		if len(n.Incoming()) > 1 {
			t.Wait = WaitJoin // settled in settleInclusive
			return
		}
		s.inclusiveFork(id, n)
	case model.EventBasedGateway:
		t.Wait = WaitGateway
		s.history(n.ID, string(n.Type), ActWaiting, nil)
		for _, e := range n.Outgoing() {
			s.subscribe(id, e.TargetNode())
		}
	default:
		if n.Type.IsActivity() {
			s.activate(id, n)
			return
		}
		s.incident(id, "model", fmt.Sprintf("cannot execute %s %q", n.Type, n.ID), "")
	}
}

// ---- activities ----

func jobType(n *model.Node) string {
	switch n.Type {
	case model.SendTask:
		return JobSend
	case model.BusinessRuleTask:
		if n.Rules != "" {
			return JobLLMRule
		}
		return JobBusinessRule
	case model.CallActivity:
		return JobCall
	}
	return JobService
}

// isIteration reports whether t is one iteration of a multi-instance body.
func (s *stepper) isIteration(t *Token) bool {
	if t.Scope == 0 {
		return false
	}
	p := s.tok(t.Scope)
	return p != nil && p.Loop != nil && p.Node == t.Node
}

func (s *stepper) activate(id int64, n *model.Node) {
	t := s.tok(id)
	if s.st.Simulate {
		// Token simulation: every task completes at once, untouched;
		// sub-processes run their contents.
		if n.Type == model.SubProcess {
			if s.boundaries(id, n) {
				s.enterScope(id, n)
			}
			return
		}
		if n.Type == model.CallActivity && n.CalledElement != "" {
			// The simulation driver runs the called process, then
			// completes this job.
			ref := s.st.refID(s.st.next())
			t.Wait, t.Ref = WaitJob, ref
			s.effect(Effect{Kind: EffJob, ID: ref, NodeID: n.ID, Type: JobCall, Name: n.CalledElement})
			return
		}
		s.completeActivity(id, nil)
		return
	}
	if n.MultiInstance != nil && t.Loop == nil && !s.isIteration(t) {
		s.startLoop(id, n)
		return
	}
	// Input mappings become the activity's locals.
	if len(n.Inputs) > 0 {
		vars := s.varsFor(t)
		locals := make(map[string]any, len(n.Inputs)+len(t.Locals))
		for k, v := range t.Locals {
			locals[k] = v
		}
		for i, m := range n.Inputs {
			v, err := n.Expr(fmt.Sprintf("input:%d", i)).Eval(vars)
			if err != nil {
				s.incident(id, "expression", fmt.Sprintf("input mapping %q: %v", m.Target, err), "")
				return
			}
			locals[m.Target] = v
		}
		t.Locals = locals
	}
	if !s.boundaries(id, n) {
		return
	}
	t = s.tok(id)
	switch n.Type {
	case model.Task, model.ManualTask:
		s.completeActivity(id, nil)
	case model.ScriptTask:
		s.runScript(id, n)
	case model.UserTask:
		s.createTask(id, n)
	case model.ReceiveTask:
		s.waitEvent(t, n)
	case model.SubProcess:
		s.enterScope(id, n)
	case model.AgentTask:
		s.agentStart(id, n)
	default: // service, send, business rule, call activity
		ref := s.st.refID(s.st.next())
		t.Wait, t.Ref = WaitJob, ref
		s.history(n.ID, string(n.Type), ActWaiting, nil)
		s.effect(Effect{Kind: EffJob, ID: ref, NodeID: n.ID, Type: jobType(n), TaskType: n.TaskType, Locals: t.Locals})
	}
}

// boundaries opens the timer, message and signal subscriptions of the
// activity's boundary events. It reports false if an incident stopped the
// token.
func (s *stepper) boundaries(id int64, n *model.Node) bool {
	for _, b := range n.Boundaries() {
		switch b.EventKind() {
		case model.EventTimer, model.EventMessage, model.EventSignal, model.EventConditional:
			if !s.subscribe(id, b) {
				return false
			}
		}
	}
	return true
}

func (s *stepper) enterScope(id int64, n *model.Node) {
	t := s.tok(id)
	t.Wait = WaitScope
	s.history(n.ID, string(n.Type), ActWaiting, nil)
	starts := s.scopeStarts(n)
	if len(starts) == 0 {
		s.completeActivity(id, nil)
		return
	}
	for _, c := range starts {
		cid := s.newToken(c.ID, id, "")
		s.queue = append(s.queue, cid)
	}
}

func (s *stepper) createTask(id int64, n *model.Node) {
	t := s.tok(id)
	vars := s.varsFor(t)
	info := &TaskInfo{Name: n.Name, CandidateUsers: n.CandidateUsers, CandidateGroups: n.CandidateGroups, FormKey: n.FormKey}
	if info.Name == "" {
		info.Name = n.ID
	}
	var err error
	if info.Assignee, err = s.stringField(n, "assignee", n.Assignee, vars); err != nil {
		s.incident(id, "expression", err.Error(), "")
		return
	}
	if info.CandidateUsers, err = s.listField(n, "candidateUsers", n.CandidateUsers, vars); err != nil {
		s.incident(id, "expression", "candidateUsers: "+err.Error(), "")
		return
	}
	if info.CandidateGroups, err = s.listField(n, "candidateGroups", n.CandidateGroups, vars); err != nil {
		s.incident(id, "expression", "candidateGroups: "+err.Error(), "")
		return
	}
	if info.DueAt, err = s.durationField(n, "dueIn", n.DueIn, vars); err != nil {
		s.incident(id, "expression", err.Error(), "")
		return
	}
	if info.FollowUpAt, err = s.durationField(n, "followUpIn", n.FollowUpIn, vars); err != nil {
		s.incident(id, "expression", err.Error(), "")
		return
	}
	ref := s.st.refID(s.st.next())
	t.Wait, t.Ref = WaitTask, ref
	s.history(n.ID, string(n.Type), ActWaiting, nil)
	s.effect(Effect{Kind: EffTask, ID: ref, NodeID: n.ID, Task: info, Locals: t.Locals})
	s.effect(Effect{Kind: EffEvent, Type: EventTaskAssigned, ID: ref, NodeID: n.ID})
}

func (s *stepper) stringField(n *model.Node, key, raw string, vars map[string]any) (string, error) {
	p := n.Expr(key)
	if p == nil {
		return raw, nil
	}
	v, err := p.Eval(vars)
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
		v, err := p.Eval(vars)
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
		v, err := p.Eval(vars)
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
	if at, err := model.ParseDate(val); err == nil {
		return at, nil
	}
	return time.Time{}, fmt.Errorf("%s: %q is neither an ISO 8601 duration nor a date", key, val)
}

// completeActivity finishes an activity token: output mappings, boundary
// subscriptions closed, then on along its outgoing flows.
func (s *stepper) completeActivity(id int64, result map[string]any) {
	t := s.tok(id)
	n := s.def.Node(t.Node)
	if len(n.Outputs) > 0 && !s.st.Simulate {
		vars := s.varsFor(t)
		if len(result) > 0 {
			m := make(map[string]any, len(vars)+len(result))
			for k, v := range vars {
				m[k] = v
			}
			for k, v := range result {
				m[k] = v
			}
			vars = m
		}
		out := make(map[string]any, len(n.Outputs))
		for i, m := range n.Outputs {
			v, err := n.Expr(fmt.Sprintf("output:%d", i)).Eval(vars)
			if err != nil {
				t.Wait, t.Ref = "", ""
				s.incident(id, "expression", fmt.Sprintf("output mapping %q: %v", m.Target, err), "")
				return
			}
			out[m.Target] = v
		}
		s.mergeVars(out)
		result = out
	} else {
		s.mergeVars(result)
	}
	if h := s.agentHolder(t); h != nil {
		s.agentStepEnded(h, result, "")
	}
	s.closeSubs(id)
	t = s.tok(id)
	t.Wait, t.Ref, t.Locals, t.Agent = "", "", nil, nil
	if s.isIteration(t) {
		s.history(n.ID, string(n.Type), ActIteration, nil)
		s.iterationDone(id)
		return
	}
	t.Loop = nil
	s.completed(n)
	s.leave(id, n)
}

// skip completes the token's node without running it (operator recovery).
func (s *stepper) skip(id int64) {
	t := s.tok(id)
	n := s.def.Node(t.Node)
	s.history(n.ID, string(n.Type), ActResolved, map[string]any{"skipped": true})
	if n.Type.IsActivity() {
		s.completeActivity(id, nil)
		return
	}
	s.completed(n)
	s.leave(id, n)
}

// ---- multi-instance ----

func (s *stepper) startLoop(id int64, n *model.Node) {
	t := s.tok(id)
	mi := n.MultiInstance
	vars := s.varsFor(t)
	loop := &Loop{}
	if p := n.Expr("collection"); p != nil {
		v, err := p.Eval(vars)
		if err != nil {
			s.incident(id, "expression", "multi-instance collection: "+err.Error(), "")
			return
		}
		items, ok := v.([]any)
		if !ok && v != nil {
			s.incident(id, "expression", fmt.Sprintf("multi-instance collection is %T, want a list", v), "")
			return
		}
		loop.Items = items
		loop.Total = len(items)
	} else if p := n.Expr("cardinality"); p != nil {
		v, err := p.Eval(vars)
		if err != nil {
			s.incident(id, "expression", "multi-instance cardinality: "+err.Error(), "")
			return
		}
		k, ok := toInt(v)
		if !ok || k < 0 {
			s.incident(id, "expression", fmt.Sprintf("multi-instance cardinality %v is not a non-negative integer", v), "")
			return
		}
		loop.Total = k
	} else {
		// A literal cardinality ("3").
		k, ok := toInt(mi.Cardinality)
		if !ok || k < 0 {
			s.incident(id, "expression", fmt.Sprintf("multi-instance cardinality %q is not a non-negative integer", mi.Cardinality), "")
			return
		}
		loop.Total = k
	}
	if loop.Total > 10_000 {
		s.incident(id, "expression", fmt.Sprintf("multi-instance has %d instances; the limit is 10000", loop.Total), "")
		return
	}
	t.Loop = loop
	t.Wait = WaitScope
	if !s.boundaries(id, n) {
		return
	}
	s.history(n.ID, string(n.Type), ActWaiting, map[string]any{"instances": loop.Total})
	if loop.Total == 0 {
		s.finishLoop(id)
		return
	}
	if mi.Sequential {
		s.startIteration(id, n)
		return
	}
	for i := 0; i < loop.Total; i++ {
		s.startIteration(id, n)
	}
}

func (s *stepper) startIteration(id int64, n *model.Node) {
	t := s.tok(id)
	i := t.Loop.Started
	t.Loop.Started++
	locals := map[string]any{"loopCounter": i + 1}
	if t.Loop.Items != nil {
		ev := n.MultiInstance.ElementVariable
		if ev == "" {
			ev = "item"
		}
		locals[ev] = t.Loop.Items[i]
	}
	cid := s.newToken(n.ID, id, "")
	s.tok(cid).Locals = locals
	s.queue = append(s.queue, cid)
}

func (s *stepper) iterationDone(id int64) {
	t := s.tok(id)
	body := t.Scope
	s.removeToken(id)
	b := s.tok(body)
	b.Loop.Completed++
	n := s.def.Node(b.Node)
	early := false
	if p := n.Expr("completionCondition"); p != nil {
		vars := make(map[string]any, len(s.st.Variables)+3)
		for k, v := range s.st.Variables {
			vars[k] = v
		}
		vars["nrOfInstances"] = b.Loop.Total
		vars["nrOfCompletedInstances"] = b.Loop.Completed
		vars["nrOfActiveInstances"] = b.Loop.Started - b.Loop.Completed
		v, err := p.Bool(vars)
		if err != nil {
			s.incident(body, "expression", "multi-instance completion condition: "+err.Error(), "")
			return
		}
		early = v
	}
	if early {
		s.cancelChildren(body)
		s.finishLoop(body)
		return
	}
	switch {
	case b.Loop.Completed >= b.Loop.Total:
		s.finishLoop(body)
	case n.MultiInstance.Sequential && b.Loop.Started < b.Loop.Total:
		s.startIteration(body, n)
	}
}

func (s *stepper) finishLoop(id int64) {
	t := s.tok(id)
	n := s.def.Node(t.Node)
	s.closeSubs(id)
	t = s.tok(id)
	t.Loop, t.Wait, t.Ref = nil, "", ""
	s.completed(n)
	s.leave(id, n)
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case float64:
		if x == float64(int(x)) {
			return int(x), true
		}
	case string:
		var k int
		if _, err := fmt.Sscanf(strings.TrimSpace(x), "%d", &k); err == nil {
			return k, true
		}
	}
	return 0, false
}

// ---- flows ----

// leave sends the token along the node's outgoing flows (activity and
// event semantics: unconditional flows and true conditions are all taken,
// the default flow only when nothing else is).
func (s *stepper) leave(id int64, n *model.Node) {
	out := n.Outgoing()
	switch {
	case len(out) == 0:
		s.consume(id)
		return
	case len(out) == 1 && out[0].ConditionProgram() == nil && !out[0].JavaScriptCondition():
		s.move(id, out[0])
		return
	}
	taken, ok := s.evalFlows(id, n, false)
	if !ok {
		return
	}
	if len(taken) == 0 {
		s.noFlow(id, n)
		return
	}
	s.fork(id, n, taken)
}

// evalFlows evaluates the outgoing conditions. first stops at the first
// true flow (exclusive gateway). The default flow is used when nothing
// else is taken. ok is false when an incident was opened.
func (s *stepper) evalFlows(id int64, n *model.Node, first bool) (taken []*model.Edge, ok bool) {
	def := n.DefaultEdge()
	vars := s.st.Variables
	if vars == nil {
		vars = noVars
	}
	for _, e := range n.Outgoing() {
		if e == def {
			continue
		}
		if p := e.ConditionProgram(); p != nil {
			v, err := p.Bool(s.simVars(p, vars))
			if err != nil && s.st.Simulate {
				// A simulation has no task output: a condition that cannot
				// be evaluated is simply not true.
				v, err = false, nil
			}
			if err != nil {
				s.incident(id, "expression", fmt.Sprintf("condition of flow %q: %v", e.ID, err), "")
				return nil, false
			}
			if !v {
				continue
			}
		} else if e.JavaScriptCondition() {
			v, err := s.jsCondition(e, vars)
			if err != nil {
				s.incident(id, "script", fmt.Sprintf("condition of flow %q: %v", e.ID, err), "")
				return nil, false
			}
			if !v {
				continue
			}
		}
		taken = append(taken, e)
		if first {
			break
		}
	}
	if len(taken) == 0 && def != nil {
		taken = append(taken, def)
	}
	return taken, true
}

// simVars lets a token simulation read undefined variables as null.
func (s *stepper) simVars(p *expr.Program, vars map[string]any) map[string]any {
	if !s.st.Simulate {
		return vars
	}
	miss := p.Missing(vars)
	if len(miss) == 0 {
		return vars
	}
	m := make(map[string]any, len(vars)+len(miss))
	for k, v := range vars {
		m[k] = v
	}
	for _, k := range miss {
		m[k] = nil
	}
	return m
}

func (s *stepper) noFlow(id int64, n *model.Node) {
	s.incident(id, "gateway", fmt.Sprintf("no outgoing flow of %s %q can be taken: no condition holds and there is no default flow", n.Type, n.ID), "")
}

func (s *stepper) exclusive(id int64, n *model.Node) {
	out := n.Outgoing()
	if len(out) == 0 {
		s.completed(n)
		s.consume(id)
		return
	}
	taken, ok := s.evalFlows(id, n, true)
	if !ok {
		return
	}
	if len(taken) == 0 {
		s.noFlow(id, n)
		return
	}
	s.completed(n)
	s.move(id, taken[0])
}

func (s *stepper) inclusiveFork(id int64, n *model.Node) {
	if len(n.Outgoing()) == 0 {
		s.completed(n)
		s.consume(id)
		return
	}
	taken, ok := s.evalFlows(id, n, false)
	if !ok {
		return
	}
	if len(taken) == 0 {
		s.noFlow(id, n)
		return
	}
	s.completed(n)
	s.fork(id, n, taken)
}

// fork moves the token along the first flow and new tokens along the rest.
func (s *stepper) fork(id int64, n *model.Node, flows []*model.Edge) {
	if len(flows) == 0 {
		s.consume(id)
		return
	}
	scope := s.tok(id).Scope
	s.move(id, flows[0])
	for _, e := range flows[1:] {
		nid := s.newToken(e.Target, scope, e.ID)
		s.queue = append(s.queue, nid)
	}
}

func (s *stepper) move(id int64, e *model.Edge) {
	t := s.tok(id)
	t.Node, t.Via, t.Wait, t.Ref, t.Locals, t.Loop = e.Target, e.ID, "", "", nil, nil
	s.queue = append(s.queue, id)
}

// consume removes a token that reached the end of its path and completes
// its scope if it was the last one.
func (s *stepper) consume(id int64) {
	t := s.tok(id)
	scope := t.Scope
	s.removeToken(id)
	s.scopeCheck(scope)
}

// scopeCheck completes a sub-process whose last token is gone.
func (s *stepper) scopeCheck(scope int64) {
	if scope == 0 {
		return
	}
	for _, t := range s.st.Tokens {
		if t.Scope == scope {
			return
		}
	}
	holder := s.tok(scope)
	if holder == nil || holder.Loop != nil {
		return
	}
	if holder.Agent != nil {
		s.agentStepDone(scope)
		return
	}
	s.completeActivity(scope, nil)
}

// ---- joins ----

func (s *stepper) tryParallelJoin(n *model.Node, scope int64) {
	in := n.Incoming()
	pick := make([]int64, len(in))
	for i, e := range in {
		for _, t := range s.st.Tokens {
			if t.Node == n.ID && t.Wait == WaitJoin && t.Scope == scope && t.Via == e.ID {
				pick[i] = t.ID
				break
			}
		}
		if pick[i] == 0 {
			return
		}
	}
	s.fireJoin(n, pick)
	s.completed(n)
	s.fork(pick[0], n, n.Outgoing())
}

// fireJoin consumes all picked tokens but the first, which goes on.
func (s *stepper) fireJoin(n *model.Node, pick []int64) {
	for _, id := range pick[1:] {
		s.removeToken(id)
	}
	t := s.tok(pick[0])
	t.Wait, t.Via = "", ""
}

// settleInclusive fires every inclusive join no further token can reach.
// It reports whether it fired one (the run loop then continues).
func (s *stepper) settleInclusive() bool {
	for i := range s.st.Tokens {
		t := s.st.Tokens[i]
		if t.Wait != WaitJoin {
			continue
		}
		n := s.def.Node(t.Node)
		if n.Type != model.InclusiveGateway {
			continue
		}
		if s.inclusiveBlocked(n, t.Scope) {
			continue
		}
		var pick []int64
		for _, e := range n.Incoming() {
			for _, o := range s.st.Tokens {
				if o.Node == n.ID && o.Wait == WaitJoin && o.Scope == t.Scope && o.Via == e.ID {
					pick = append(pick, o.ID)
					break
				}
			}
		}
		if len(pick) == 0 {
			pick = []int64{t.ID}
		}
		s.fireJoin(n, pick)
		s.inclusiveFork(pick[0], n)
		return true
	}
	return false
}

// inclusiveBlocked reports whether some token in scope (other than those
// waiting at g) can still reach g.
func (s *stepper) inclusiveBlocked(g *model.Node, scope int64) bool {
	for _, o := range s.st.Tokens {
		if o.Node == g.ID && o.Wait == WaitJoin && o.Scope == scope {
			continue
		}
		node := s.ancestorIn(o, scope)
		if node == nil {
			continue
		}
		if s.def.CanReach(node, g) {
			return true
		}
	}
	return false
}

// ancestorIn returns the node in scope that holds token o (o's own node,
// or the sub-process containing it); nil if o is not inside scope.
func (s *stepper) ancestorIn(o Token, scope int64) *model.Node {
	for guard := 0; guard < 1000; guard++ {
		if o.Scope == scope {
			return s.def.Node(o.Node)
		}
		if o.Scope == 0 {
			return nil
		}
		p := s.tok(o.Scope)
		if p == nil {
			return nil
		}
		o = *p
	}
	return nil
}

// ---- events ----

func (s *stepper) endEvent(id int64, n *model.Node) {
	t := s.tok(id)
	scope := t.Scope
	switch n.EventKind() {
	case model.EventTerminate:
		s.completed(n)
		s.removeToken(id)
		s.history(n.ID, string(n.Type), ActTerminated, nil)
		if scope == 0 {
			s.cancelAll()
			return
		}
		s.cancelChildren(scope)
		s.scopeCheck(scope)
	case model.EventError:
		s.completed(n)
		code := ""
		if n.Event != nil {
			code = n.Event.ErrorCode
		}
		s.throwError(id, code, "")
	default:
		if k := n.EventKind(); k == model.EventMessage || k == model.EventSignal || k == model.EventEscalation {
			s.thrown(n)
		}
		s.completed(n)
		s.consume(id)
	}
}

func (s *stepper) thrown(n *model.Node) {
	if n.Event == nil {
		return
	}
	s.effect(Effect{Kind: EffThrow, NodeID: n.ID, Type: string(n.Event.Kind), Name: n.Event.Name})
	if n.Event.Kind == model.EventSignal {
		// Signals are also caught inside the same instance.
		var ids []string
		for _, sb := range s.st.Subs {
			if sb.Kind == SubSignal && sb.Name == n.Event.Name {
				ids = append(ids, sb.ID)
			}
		}
		for _, sid := range ids {
			if i := s.findSub(sid); i >= 0 {
				s.deliver(i, nil)
			}
		}
	}
}

func (s *stepper) throwEvent(id int64, n *model.Node) {
	if n.EventKind() == model.EventLink {
		s.completed(n)
		t := s.tok(id)
		for _, c := range s.def.Nodes {
			if c.Type == model.IntermediateCatchEvent && c.EventKind() == model.EventLink &&
				c.Event.Name == n.Event.Name && c.ParentNode() == n.ParentNode() {
				t.Node, t.Via = c.ID, ""
				s.queue = append(s.queue, id)
				return
			}
		}
		s.incident(id, "model", fmt.Sprintf("link %q has no catch event", n.Event.Name), "")
		return
	}
	s.completed(n)
	s.thrown(n)
	if s.tok(id) != nil {
		s.leave(id, n)
	}
}

// waitEvent makes the token wait at a catch event or receive task.
func (s *stepper) waitEvent(t *Token, n *model.Node) {
	id := t.ID
	t.Wait = WaitEvent
	if !s.subscribe(id, n) {
		return
	}
	s.history(n.ID, string(n.Type), ActWaiting, nil)
}

// subscribe opens the subscription of catching node n for token owner. It
// reports false if an incident stopped the token.
func (s *stepper) subscribe(owner int64, n *model.Node) bool {
	sub := Sub{Node: n.ID, Owner: owner}
	seq := s.st.next()
	sub.ID, sub.Seq = s.st.refID(seq), seq
	kind := n.EventKind()
	if n.Type == model.ReceiveTask && kind == model.EventNone {
		kind = model.EventMessage
	}
	if n.Event != nil {
		sub.Name = n.Event.Name
	}
	if sub.Name == "" && kind == model.EventMessage {
		sub.Name = n.ID
	}
	switch kind {
	case model.EventTimer:
		sub.Kind = SubTimer
		due, repeat, every, err := s.timerDue(n, s.tok(owner))
		if err != nil {
			s.incident(owner, "timer", err.Error(), "")
			return false
		}
		sub.Due, sub.Repeat, sub.Every = due, repeat, every
		s.st.Subs = append(s.st.Subs, sub)
		s.effect(Effect{Kind: EffTimer, ID: sub.ID, NodeID: n.ID, Due: due})
		return true
	case model.EventMessage:
		sub.Kind = SubMessage
		if n.Event != nil && !model.IsExpression(n.Event.CorrelationKey) {
			sub.Key = n.Event.CorrelationKey // a literal key
		} else if p := n.Expr("correlationKey"); p != nil && !s.st.Simulate {
			v, err := p.Eval(s.varsFor(s.tok(owner)))
			if err != nil {
				s.incident(owner, "expression", "correlation key: "+err.Error(), "")
				return false
			}
			if v != nil {
				sub.Key = fmt.Sprint(v)
			}
		}
	case model.EventSignal:
		sub.Kind = SubSignal
	default:
		sub.Kind = SubOther
	}
	s.st.Subs = append(s.st.Subs, sub)
	s.effect(Effect{Kind: EffSubscribe, ID: sub.ID, NodeID: n.ID, Type: string(sub.Kind), Name: sub.Name, Key: sub.Key})
	return true
}

func (s *stepper) timerDue(n *model.Node, t *Token) (due time.Time, repeat int, every time.Duration, err error) {
	tm := n.Event.Timer
	dur, date, cycle := tm.Duration, tm.Date, tm.Cycle
	if p := n.Expr("timer"); p != nil {
		v, e := p.Eval(s.varsFor(t))
		if e != nil {
			return due, 0, 0, fmt.Errorf("timer of %q: %v", n.ID, e)
		}
		if at, ok := v.(time.Time); ok {
			return at, 0, 0, nil
		}
		str := fmt.Sprint(v)
		switch {
		case dur != "":
			dur = str
		case date != "":
			date = str
		default:
			cycle = str
		}
	}
	switch {
	case dur != "":
		d, e := model.ParseDuration(dur)
		if e != nil {
			return due, 0, 0, fmt.Errorf("timer of %q: %v", n.ID, e)
		}
		return s.now.Add(d), 0, 0, nil
	case date != "":
		at, e := model.ParseDate(date)
		if e != nil {
			return due, 0, 0, fmt.Errorf("timer of %q: %v", n.ID, e)
		}
		return at, 0, 0, nil
	default:
		c, e := model.ParseCycle(cycle)
		if e != nil {
			return due, 0, 0, fmt.Errorf("timer of %q: %v", n.ID, e)
		}
		first := s.now.Add(c.Interval)
		if !c.Start.IsZero() {
			first = c.Start
		}
		rep := -1
		if c.Repeat >= 0 {
			rep = c.Repeat - 1
			if rep < 0 {
				rep = 0
			}
		}
		return first, rep, c.Interval, nil
	}
}

// closeSubs removes every subscription owned by the token (its boundary
// events, its catch event) and cancels their effects.
func (s *stepper) closeSubs(owner int64) {
	subs := s.st.Subs[:0]
	for _, sb := range s.st.Subs {
		if sb.Owner == owner {
			s.cancelSubEffect(sb)
			continue
		}
		subs = append(subs, sb)
	}
	for i := len(subs); i < len(s.st.Subs); i++ {
		s.st.Subs[i] = Sub{}
	}
	s.st.Subs = subs
	if len(s.st.Subs) == 0 {
		s.st.Subs = nil
	}
}

func (s *stepper) cancelSubEffect(sb Sub) {
	s.effect(Effect{Kind: EffCancel, ID: sb.ID, NodeID: sb.Node, Type: string(sb.Kind)})
}

// deliver triggers subscription i with the given payload.
func (s *stepper) deliver(i int, vars map[string]any) {
	sb := s.st.Subs[i]
	n := s.def.Node(sb.Node)
	owner := s.tok(sb.Owner)
	s.history(n.ID, string(n.Type), ActFired, nil)
	// A repeating timer stays subscribed with its next due time.
	if sb.Kind == SubTimer && sb.Every > 0 && sb.Repeat != 0 && n.Type == model.BoundaryEvent && n.NonInterrupting {
		next := sb
		seq := s.st.next()
		next.ID, next.Seq = s.st.refID(seq), seq
		next.Due = sb.Due.Add(sb.Every)
		if next.Repeat > 0 {
			next.Repeat--
		}
		s.st.Subs[i] = next
		s.effect(Effect{Kind: EffTimer, ID: next.ID, NodeID: n.ID, Due: next.Due})
	} else {
		s.st.Subs = append(s.st.Subs[:i], s.st.Subs[i+1:]...)
		if len(s.st.Subs) == 0 {
			s.st.Subs = nil
		}
	}
	if owner == nil {
		return
	}
	s.mergeVars(vars)
	switch {
	case n.Type == model.BoundaryEvent:
		scope := owner.Scope
		if !n.NonInterrupting {
			s.cancelToken(owner.ID)
		}
		nid := s.newToken(n.ID, scope, "")
		s.completed(n)
		s.leave(nid, n)
	case owner.Wait == WaitGateway:
		g := s.def.Node(owner.Node)
		s.closeSubs(owner.ID)
		owner = s.tok(sb.Owner)
		s.completed(g)
		var via string
		for _, e := range g.Outgoing() {
			if e.Target == n.ID {
				via = e.ID
				break
			}
		}
		owner.Node, owner.Via, owner.Wait, owner.Ref = n.ID, via, "", ""
		s.completed(n)
		s.leave(owner.ID, n)
	case n.Type == model.ReceiveTask:
		s.completeActivity(owner.ID, nil)
	default: // catch event or event start
		s.closeSubs(owner.ID)
		owner = s.tok(sb.Owner)
		owner.Wait, owner.Ref = "", ""
		s.completed(n)
		s.leave(owner.ID, n)
	}
}

// ---- errors, cancellation, incidents ----

// throwError raises BPMN error code from token id: the token's own
// activity (a job that ended in a BPMN error) or the nearest enclosing
// sub-process with a matching error boundary event catches it; otherwise
// an incident opens.
func (s *stepper) throwError(id int64, code, msg string) {
	t := s.tok(id)
	s.history(t.Node, "", ActError, map[string]any{"errorCode": code, "message": msg})
	if n := s.def.Node(t.Node); n.Type.IsActivity() {
		if b := errorBoundary(n, code); b != nil {
			holder := id
			if s.isIteration(t) {
				holder = t.Scope // the whole multi-instance body is interrupted
			}
			scope := s.tok(holder).Scope
			s.cancelToken(holder)
			nid := s.newToken(b.ID, scope, "")
			s.completed(b)
			s.leave(nid, b)
			return
		}
	}
	child := id // the token directly inside h
	for sid := t.Scope; sid != 0; {
		h := s.tok(sid)
		if h == nil {
			break
		}
		if h.Agent != nil {
			// The agent's activity failed: the agent hears of it and
			// chooses what to do next.
			s.agentStepEnded(h, nil, errorText(code, msg))
			s.cancelToken(child)
			s.agentStepDone(sid)
			return
		}
		if b := errorBoundary(s.def.Node(h.Node), code); b != nil {
			scope := h.Scope
			if hp := s.tok(h.Scope); hp != nil && hp.Loop != nil && hp.Node == h.Node {
				sid, scope = hp.ID, hp.Scope
			}
			s.cancelToken(sid)
			nid := s.newToken(b.ID, scope, "")
			s.completed(b)
			s.leave(nid, b)
			return
		}
		child, sid = sid, h.Scope
	}
	t = s.tok(id)
	if t == nil {
		return
	}
	t.Wait, t.Ref = "", ""
	m := fmt.Sprintf("unhandled BPMN error %q", code)
	if msg != "" {
		m += ": " + msg
	}
	s.incident(id, "error", m, "")
}

func errorBoundary(n *model.Node, code string) *model.Node {
	var any *model.Node
	for _, b := range n.Boundaries() {
		if b.EventKind() != model.EventError {
			continue
		}
		if b.Event.ErrorCode == code && code != "" {
			return b
		}
		if b.Event.ErrorCode == "" && any == nil {
			any = b
		}
	}
	return any
}

// cancelWait cancels what the token waits for (job, task, subscriptions,
// children) without removing the token.
func (s *stepper) cancelWait(t *Token) {
	id := t.ID
	switch t.Wait {
	case WaitJob, WaitTask:
		s.effect(Effect{Kind: EffCancel, ID: t.Ref, NodeID: t.Node, Type: string(t.Wait)})
	case WaitIncident:
		if i := s.findIncident(t.Ref); i >= 0 {
			s.resolveIncident(i)
		}
	}
	s.closeSubs(id)
	s.cancelChildren(id)
}

// cancelToken cancels a token, everything it waits for and every token in
// its scope.
func (s *stepper) cancelToken(id int64) {
	t := s.tok(id)
	if t == nil {
		return
	}
	s.cancelWait(t)
	t = s.tok(id)
	s.history(t.Node, "", ActCancelled, nil)
	s.removeToken(id)
}

func (s *stepper) cancelChildren(scope int64) {
	for {
		found := int64(0)
		for _, t := range s.st.Tokens {
			if t.Scope == scope {
				found = t.ID
				break
			}
		}
		if found == 0 {
			return
		}
		s.cancelToken(found)
	}
}

func (s *stepper) cancelAll() {
	for len(s.st.Tokens) > 0 {
		// Cancel top-level tokens; children go with them.
		id := s.st.Tokens[0].ID
		for _, t := range s.st.Tokens {
			if t.Scope == 0 {
				id = t.ID
				break
			}
		}
		s.cancelToken(id)
	}
	for _, sb := range s.st.Subs {
		s.cancelSubEffect(sb)
	}
	s.st.Subs = nil
	for len(s.st.Incidents) > 0 {
		s.resolveIncident(0)
	}
}

// incident stops the token with an open incident.
func (s *stepper) incident(id int64, kind, msg, job string) {
	t := s.tok(id)
	ref := s.st.refID(s.st.next())
	t.Wait, t.Ref = WaitIncident, ref
	s.st.Incidents = append(s.st.Incidents, Incident{ID: ref, NodeID: t.Node, Token: id, Kind: kind, Message: msg, Time: s.now, Job: job})
	n := s.def.Node(t.Node)
	typ := ""
	if n != nil {
		typ = string(n.Type)
	}
	s.history(t.Node, typ, ActIncident, map[string]any{"kind": kind, "message": msg})
	s.effect(Effect{Kind: EffIncident, ID: ref, NodeID: t.Node, Type: kind, Message: msg})
	s.effect(Effect{Kind: EffEvent, Type: EventIncidentOpened, ID: ref, NodeID: t.Node, Message: msg})
}

func (s *stepper) resolveIncident(i int) {
	inc := s.st.Incidents[i]
	s.st.Incidents = append(s.st.Incidents[:i], s.st.Incidents[i+1:]...)
	if len(s.st.Incidents) == 0 {
		s.st.Incidents = nil
	}
	s.history(inc.NodeID, "", ActResolved, map[string]any{"incident": inc.ID, "how": string(s.cmd.Kind)})
	s.effect(Effect{Kind: EffResolve, ID: inc.ID, NodeID: inc.NodeID})
}
