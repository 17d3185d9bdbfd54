package engine

import (
	"errors"
	"fmt"
	"time"

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
