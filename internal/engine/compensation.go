package engine

import (
	"maps"

	"github.com/batonhq/baton/internal/model"
)

// Compensation (BPMN 2.0, 10.6.x).
//
// When an activity with a compensation handler completes, the state
// records it (State.Compensable) with the scope token it completed in and a
// snapshot of the locals it saw (a multi-instance element, its input
// mappings): the handler later runs with those locals over the instance
// variables of that moment. A multi-instance activity records each
// completed instance; its records move to the activity's own scope when
// the whole activity completes. A completed sub-process without a handler
// of its own takes the records of its inner activities along (Inner), so
// compensating it compensates them; with a handler, the handler replaces
// them. Records of a scope that is cancelled are dropped: only completed
// activities are compensated.
//
// A compensation throw event (intermediate or end) takes the records of
// its scope (for an event inside an event sub-process: the scope the event
// sub-process sits in), all or those of Event.ActivityRef, and runs their
// handlers one at a time in reverse order of completion. The token that
// drives them waits at the throw event (Wait compensation) holding the
// ones still to run; handlers are its children, so scopeCheck hands back
// to compNext when one ends. With waitForCompletion="false" a second
// token drives the handlers and the throw event's token goes on at once.
// A record is compensated once: the throw takes it out of the state.

// Compensable is a completed activity that can be compensated.
type Compensable struct {
	// Node is the completed activity.
	Node string `json:"node"`
	// Scope is the token of the scope it completed in (0: the process).
	Scope int64 `json:"scope,omitempty"`
	// Locals are the locals the activity saw when it completed; its
	// handler starts with them.
	Locals map[string]any `json:"locals,omitempty"`
	// Inner are the records of a completed sub-process without a handler
	// of its own, in order of completion.
	Inner []Compensable `json:"inner,omitempty"`
}

// CompRun is the progress of a compensation throw event: the records
// still to compensate (the last one next) and the one whose handler runs.
type CompRun struct {
	Pending []Compensable `json:"pending,omitempty"`
	Current string        `json:"current,omitempty"`
	// Then says what the driving token does when all handlers finished:
	// "leave" (intermediate throw event), "end" (end event) or "" (the
	// detached driver of an event that does not wait).
	Then string `json:"then,omitempty"`
}

// compensationRecorded records a completed activity (or multi-instance
// instance) held by token id, before its token moves on.
func (s *stepper) compensationRecorded(id int64, n *model.Node) {
	t := s.tok(id)
	var inner []Compensable
	if n.Type.IsScope() {
		inner = s.takeCompensable(id)
	}
	r := Compensable{Node: n.ID, Scope: t.Scope}
	switch {
	case n.CompensationEventSub() != nil:
		// Its compensation event sub-process runs with the sub-process's
		// locals and may compensate the inner records itself.
		r.Inner = inner
		if l := s.localsFor(t); len(l) > 0 {
			r.Locals = maps.Clone(l)
		}
	case n.CompensationHandler() != nil:
		if l := s.localsFor(t); len(l) > 0 {
			r.Locals = maps.Clone(l)
		}
	case len(inner) > 0:
		r.Inner = inner
	default:
		return
	}
	s.st.Compensable = append(s.st.Compensable, r)
}

// takeCompensable removes and returns the records of scope token scope
// whose activity is ref ("" for all), in order of completion.
func (s *stepper) takeCompensable(scope int64) []Compensable {
	return s.takeCompensableOf(scope, "")
}

func (s *stepper) takeCompensableOf(scope int64, ref string) []Compensable {
	var out []Compensable
	keep := s.st.Compensable[:0]
	for _, r := range s.st.Compensable {
		if r.Scope == scope && (ref == "" || r.Node == ref) {
			out = append(out, r)
		} else {
			keep = append(keep, r)
		}
	}
	if len(keep) == 0 {
		keep = nil
	}
	s.st.Compensable = keep
	return out
}

// hoistCompensable moves the records of a finished multi-instance body
// (token body) into the scope the body sits in.
func (s *stepper) hoistCompensable(body, scope int64) {
	for i := range s.st.Compensable {
		if s.st.Compensable[i].Scope == body {
			s.st.Compensable[i].Scope = scope
		}
	}
}

// dropCompensable forgets the records of a scope token that ends without
// completing (cancelled) or starts anew.
func (s *stepper) dropCompensable(scope int64) {
	if len(s.st.Compensable) > 0 {
		s.takeCompensable(scope)
	}
}

// compensate starts compensation at throw event n reached by token id.
func (s *stepper) compensate(id int64, n *model.Node) {
	t := s.tok(id)
	target := t.Scope
	if h := s.tok(target); h != nil {
		if hn := s.def.Node(h.Node); hn != nil && hn.TriggeredByEvent {
			target = h.Scope
		}
	}
	pending := s.takeCompensableOf(target, n.Event.ActivityRef)
	then := "end"
	if n.Type == model.IntermediateThrowEvent {
		then = "leave"
	}
	s.history(n.ID, string(n.Type), ActWaiting, map[string]any{"compensate": len(pending)})
	driver := id
	if !n.Event.Waits() {
		driver = s.newToken(n.ID, t.Scope, "")
		s.completed(n)
		if then == "leave" {
			s.leave(id, n)
		} else {
			s.consume(id)
		}
		then = ""
	}
	d := s.tok(driver)
	d.Wait, d.Ref = WaitCompensate, ""
	d.Comp = &CompRun{Pending: pending, Then: then}
	s.compNext(driver)
}

// compNext runs the next handler of compensation driver id, or ends the
// compensation when none is left.
func (s *stepper) compNext(id int64) {
	c := s.tok(id).Comp
	if c.Current != "" {
		s.history(c.Current, "", ActCompensated, nil)
		c.Current = ""
	}
	for len(c.Pending) > 0 {
		r := c.Pending[len(c.Pending)-1]
		c.Pending = c.Pending[:len(c.Pending)-1]
		a := s.def.Node(r.Node)
		if a == nil {
			continue
		}
		if esp := a.CompensationEventSub(); esp != nil {
			c.Current = a.ID
			s.compensationEventSub(id, a, esp, r)
			return
		}
		h := a.CompensationHandler()
		if h == nil {
			// A sub-process without a handler: compensate its inner
			// activities, the last completed first.
			c.Pending = append(c.Pending, r.Inner...)
			continue
		}
		c.Current = a.ID
		s.history(a.ID, string(a.Type), ActCompensating, map[string]any{"handler": h.ID})
		hid := s.newToken(h.ID, id, "")
		if len(r.Locals) > 0 {
			s.tok(hid).Locals = maps.Clone(r.Locals)
		}
		s.queue = append(s.queue, hid)
		return
	}
	t := s.tok(id)
	t.Comp, t.Wait = nil, ""
	s.dropCompensable(id) // what the handlers themselves left
	n := s.def.Node(t.Node)
	switch c.Then {
	case "leave":
		s.completed(n)
		s.leave(id, n)
	case "end":
		s.completed(n)
		s.consume(id)
	default:
		s.consume(id)
	}
}

// compensationEventSub runs the compensation event sub-process esp of
// completed sub-process a (record r) under compensation driver id. The
// inner records of a go back into the state under the driver, which is
// the scope the event sub-process's token sits in, so that a compensation
// throw event inside it compensates them (compensate looks one scope out
// of an event sub-process).
func (s *stepper) compensationEventSub(id int64, a, esp *model.Node, r Compensable) {
	s.dropCompensable(id) // what an earlier handler left
	for _, in := range r.Inner {
		in.Scope = id
		s.st.Compensable = append(s.st.Compensable, in)
	}
	s.history(a.ID, string(a.Type), ActCompensating, map[string]any{"handler": esp.ID})
	hid := s.newToken(esp.ID, id, "")
	h := s.tok(hid)
	h.Wait = WaitScope
	if len(r.Locals) > 0 {
		h.Locals = maps.Clone(r.Locals)
	}
	s.history(esp.ID, string(esp.Type), ActWaiting, map[string]any{"trigger": esp.EventStart().ID})
	s.queue = append(s.queue, s.newToken(esp.EventStart().ID, hid, ""))
}
