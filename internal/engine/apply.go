package engine

import (
	"fmt"

	"github.com/batonhq/baton/internal/model"
)

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
