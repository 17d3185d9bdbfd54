package engine

import "github.com/batonhq/baton/internal/model"

// Thrown event kinds (Effect.Type of EffThrow).
const (
	ThrowMessage = "message"
	ThrowSignal  = "signal"
)

// throwOut sends the message or signal of throw event n (intermediate
// or end) on token id, and reports whether the token goes on at once.
//
//   - A message event with a task type is, as in Zeebe, a job for a
//     worker of that type (like a send task): the token waits for it
//     and goes on when the job completes (completeActivity).
//   - Otherwise the message is published to the engine's own
//     subscribers: an EffThrow effect, which the durable runtime turns
//     into a job that correlates it (or buffers it) once this transition
//     has committed, so that it is neither lost nor sent for a
//     transition that did not happen.
//   - A signal is broadcast: caught at once by this instance's signal
//     subscriptions, and by every other instance's through the EffThrow
//     effect.
//
// The event's input mappings give the variables the message or signal
// carries; its correlation key is that of its message. An expression
// that fails opens an incident on the event and nothing is sent.
func (s *stepper) throwOut(id int64, n *model.Node) bool {
	kind := n.EventKind()
	if n.Event == nil || (kind != model.EventMessage && kind != model.EventSignal) {
		return true
	}
	if s.st.Simulate {
		// A simulation has no workers and no other instances.
		s.effect(Effect{Kind: EffThrow, NodeID: n.ID, Type: string(kind), Name: n.Event.Name})
		if kind == model.EventSignal {
			s.signalHere(n.Event.Name, nil)
		}
		return true
	}
	if !s.mapInputs(id, n) {
		return false
	}
	t := s.tok(id)
	if kind == model.EventMessage && (n.TaskType != "" || n.Event.Sink != nil) {
		// A broker sink is a job too: the runner's broker handler
		// publishes it, with the job id as the message id.
		taskType, ok := s.taskType(id, n)
		if !ok {
			return false
		}
		key, err := s.correlationKey(n, t)
		if err != nil {
			s.incident(id, IncidentExpression, err.Error(), "")
			return false
		}
		ref := s.st.refID(s.st.next())
		t.Wait, t.Ref = WaitJob, ref
		s.history(n.ID, string(n.Type), ActWaiting, nil)
		s.effect(Effect{Kind: EffJob, ID: ref, NodeID: n.ID, Type: JobMessage, TaskType: taskType,
			Name: n.Event.Name, Key: key, Locals: s.localsFor(t)})
		return false
	}
	e := Effect{Kind: EffThrow, NodeID: n.ID, Type: string(kind), Name: n.Event.Name, Locals: s.localsFor(t)}
	if kind == model.EventMessage {
		key, err := s.correlationKey(n, t)
		if err != nil {
			s.incident(id, IncidentExpression, err.Error(), "")
			return false
		}
		e.Key = key
	}
	e.ID = s.st.refID(s.st.next())
	t.Locals = nil
	s.effect(e)
	result := map[string]any{string(kind): e.Name}
	if e.Key != "" {
		result["correlationKey"] = e.Key
	}
	s.history(n.ID, string(n.Type), ActThrown, result)
	if kind == model.EventSignal {
		s.signalHere(n.Event.Name, e.Locals)
	}
	return true
}

// signalHere delivers signal name to this instance's signal
// subscriptions, with vars.
func (s *stepper) signalHere(name string, vars map[string]any) {
	var ids []string
	for _, sb := range s.st.Subs {
		if sb.Kind == SubSignal && sb.Name == name {
			ids = append(ids, sb.ID)
		}
	}
	for _, sid := range ids {
		if i := s.findSub(sid); i >= 0 {
			s.deliver(i, vars)
		}
	}
}
