package engine

import (
	"fmt"

	"github.com/batonhq/baton/internal/model"
)

func (s *stepper) applyStart() error {
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
	s.openEventSubs(0, nil)
	return nil
}

// waitingJob returns the token waiting for the job the command names.
func (s *stepper) waitingJob() (*Token, error) {
	t := s.findWait(WaitJob, s.cmd.Ref)
	if t == nil {
		return nil, fmt.Errorf("%w: job %q", ErrStale, s.cmd.Ref)
	}
	return t, nil
}

func (s *stepper) applyCompleteJob() error {
	c := &s.cmd
	t, err := s.waitingJob()
	if err != nil {
		return err
	}
	switch n := s.def.Node(t.Node); n.Type {
	case model.ExclusiveGateway:
		s.gatewayDecided(t.ID, n, c.Target, c.Name, c.Variables)
		return nil
	case model.AgentTask:
		s.agentAnswered(t.ID, n, c.Variables)
		return nil
	}
	s.completeActivity(t.ID, c.Variables)
	return nil
}

func (s *stepper) applyFailJob() error {
	c := &s.cmd
	t, err := s.waitingJob()
	if err != nil {
		return err
	}
	n := s.def.Node(t.Node)
	msg := c.ErrorMessage
	if msg == "" {
		msg = "job failed"
	}
	t.Ref = ""
	s.incident(t.ID, IncidentJob, msg, jobType(n))
	return nil
}

func (s *stepper) applyThrowError() error {
	c := &s.cmd
	t, err := s.waitingJob()
	if err != nil {
		return err
	}
	t.Wait, t.Ref = "", ""
	s.throwError(t.ID, c.ErrorCode, c.ErrorMessage, c.Variables)
	return nil
}

func (s *stepper) applyCompleteTask() error {
	c := &s.cmd
	t := s.findWait(WaitTask, c.Ref)
	if t == nil {
		return fmt.Errorf("%w: task %q", ErrStale, c.Ref)
	}
	if n := s.def.Node(t.Node); n.Type == model.ExclusiveGateway {
		// A person reviewed a model's decision: "flow" is the choice.
		flow, _ := c.Variables["flow"].(string)
		s.gatewayReviewed(t.ID, n, flow)
		return nil
	} else if n.Type == model.AgentTask {
		// A person answered a guarded call of the agent (guard.go).
		s.agentApproved(t.ID, n, c.Variables)
		return nil
	}
	s.completeActivity(t.ID, c.Variables)
	return nil
}

func (s *stepper) applyFireTimer() error {
	c := &s.cmd
	i := s.findSub(c.Ref)
	if i < 0 || s.st.Subs[i].Kind != SubTimer {
		return fmt.Errorf("%w: timer %q", ErrStale, c.Ref)
	}
	s.deliver(i, nil)
	return nil
}

func (s *stepper) applyMessage() error {
	c := &s.cmd
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
	return nil
}

func (s *stepper) applySignal() error {
	c := &s.cmd
	var ids []string
	for _, sb := range s.st.Subs {
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
	return nil
}

func (s *stepper) applyCancel() error {
	st := s.st
	s.cancelAll()
	st.Status = StatusCancelled
	st.EndedAt = s.now
	s.history("", "", ActCancelled, nil)
	return nil
}

// releaseIncident resolves the incident the command names, merges the
// command's variables and frees the incident's token from its wait. The
// token is nil if it no longer exists.
func (s *stepper) releaseIncident() (*Token, error) {
	c := &s.cmd
	inc := s.findIncident(c.Ref)
	if inc < 0 {
		return nil, fmt.Errorf("%w: incident %q", ErrStale, c.Ref)
	}
	tokID := s.st.Incidents[inc].Token
	s.resolveIncident(inc)
	s.mergeVars(c.Variables)
	t := s.tok(tokID)
	if t == nil {
		return nil, nil
	}
	t.Wait, t.Ref = "", ""
	return t, nil
}

func (s *stepper) applyRetry() error {
	t, err := s.releaseIncident()
	if t == nil {
		return err
	}
	s.queue = append(s.queue, t.ID)
	return nil
}

func (s *stepper) applySkip() error {
	t, err := s.releaseIncident()
	if t == nil {
		return err
	}
	s.skip(t.ID)
	return nil
}

func (s *stepper) applyMove() error {
	c := &s.cmd
	st := s.st
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
	t.Node, t.Via, t.Wait, t.Ref, t.Loop, t.Locals, t.AdHocCheck = target.ID, "", "", "", nil, nil, false
	s.queue = append(s.queue, id)
	return nil
}

func (s *stepper) applyNote() error {
	c := &s.cmd
	if c.Name == "" {
		return fmt.Errorf("%w: a note needs a name", ErrInvalidCommand)
	}
	typ := ""
	if n := s.def.Node(c.Target); n != nil {
		typ = string(n.Type)
	}
	s.history(c.Target, typ, Action(c.Name), c.Variables)
	return nil
}

func (s *stepper) applySetVariables() error {
	s.mergeVars(s.cmd.Variables)
	// The history keeps what was set (with the actor), so that an
	// operator's edit can be read back and audited.
	s.history("", "", ActVariables, map[string]any{"set": s.cmd.Variables})
	return nil
}
