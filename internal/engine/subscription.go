package engine

import (
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/feel"
	"github.com/batonhq/baton/internal/model"
)

// subscribe opens the subscription of catching node n for token owner. It
// reports false if an incident stopped the token.
func (s *stepper) subscribe(owner int64, n *model.Node) bool {
	kind, err := s.openSub(owner, n)
	if err != nil {
		s.incident(owner, kind, err.Error(), "")
		return false
	}
	return true
}

// openSub opens the subscription of catching node n for owner (a token;
// 0 for a process-level event sub-process). On error nothing is opened
// and kind says what incident it calls for.
func (s *stepper) openSub(owner int64, n *model.Node) (IncidentKind, error) {
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
	var ot *Token
	if owner != 0 {
		ot = s.tok(owner)
	}
	switch kind {
	case model.EventTimer:
		sub.Kind = SubTimer
		due, repeat, every, err := s.timerDue(n, ot)
		if err != nil {
			return IncidentTimer, err
		}
		sub.Due, sub.Repeat, sub.Every = due, repeat, every
		s.st.Subs = append(s.st.Subs, sub)
		s.effect(Effect{Kind: EffTimer, ID: sub.ID, NodeID: n.ID, Due: due})
		return "", nil
	case model.EventMessage:
		sub.Kind = SubMessage
		key, err := s.correlationKey(n, ot)
		if err != nil {
			return IncidentExpression, err
		}
		sub.Key = key
	case model.EventSignal:
		sub.Kind = SubSignal
	default:
		sub.Kind = SubOther
	}
	s.st.Subs = append(s.st.Subs, sub)
	s.effect(Effect{Kind: EffSubscribe, ID: sub.ID, NodeID: n.ID, Type: string(sub.Kind), Name: sub.Name, Key: sub.Key})
	return "", nil
}

func (s *stepper) timerDue(n *model.Node, t *Token) (due time.Time, repeat int, every time.Duration, err error) {
	tm := n.Event.Timer
	dur, date, cycle := tm.Duration, tm.Date, tm.Cycle
	if p := n.Expr("timer"); p != nil {
		v, e := p.EvalAt(s.varsFor(t), s.now)
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
		at, e := parseInstant(date)
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

// parseInstant reads an ISO 8601 date or date and time, also as FEEL
// writes one with a zone id ("2024-03-01T09:00:00@Europe/Paris"), which
// a FEEL timer or due date expression may give.
func parseInstant(s string) (time.Time, error) {
	at, err := model.ParseDate(s)
	if err != nil {
		if dt, ok := feel.ParseDateTime(s); ok {
			return dt.T, nil
		}
	}
	return at, err
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

// cancelSubEffect cancels subscription sb outside. A subscription opened
// in this same step is simply not opened: the effects of a step are net,
// so a store never sees a cancel before the row it cancels (a scope, and
// its event sub-process subscriptions, can open and end in one step).
func (s *stepper) cancelSubEffect(sb Sub) {
	for i := len(s.effects) - 1; i >= 0; i-- {
		if e := s.effects[i]; e.ID == sb.ID && (e.Kind == EffTimer || e.Kind == EffSubscribe) {
			s.effects = append(s.effects[:i], s.effects[i+1:]...)
			return
		}
	}
	s.effect(Effect{Kind: EffCancel, ID: sb.ID, NodeID: sb.Node, Type: string(sb.Kind)})
}

// deliver triggers subscription i with the given payload.
func (s *stepper) deliver(i int, vars map[string]any) {
	sb := s.st.Subs[i]
	n := s.def.Node(sb.Node)
	owner := s.tok(sb.Owner)
	s.history(n.ID, string(n.Type), ActFired, nil)
	if n.EventSubProcess() != nil {
		s.deliverEventSub(i, n, vars)
		return
	}
	// A repeating timer stays subscribed with its next due time.
	if !(n.Type == model.BoundaryEvent && n.NonInterrupting && s.rearmTimer(i)) {
		s.dropSub(i)
		if sb.Kind != SubTimer {
			// The delivered message or signal subscription is done: its
			// row goes too (a fired timer's job is closed by its runner).
			s.cancelSubEffect(sb)
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

// rearmTimer keeps cycle timer subscription i for its next due time and
// reports whether it did (false: not a timer, or its last repetition).
func (s *stepper) rearmTimer(i int) bool {
	sb := s.st.Subs[i]
	if sb.Kind != SubTimer || sb.Every <= 0 || sb.Repeat == 0 {
		return false
	}
	next := sb
	seq := s.st.next()
	next.ID, next.Seq = s.st.refID(seq), seq
	next.Due = sb.Due.Add(sb.Every)
	if next.Repeat > 0 {
		next.Repeat--
	}
	s.st.Subs[i] = next
	s.effect(Effect{Kind: EffTimer, ID: next.ID, NodeID: sb.Node, Due: next.Due})
	return true
}

// dropSub removes subscription i from the state (its effect is the
// caller's business).
func (s *stepper) dropSub(i int) {
	s.st.Subs = append(s.st.Subs[:i], s.st.Subs[i+1:]...)
	if len(s.st.Subs) == 0 {
		s.st.Subs = nil
	}
}

// correlationKey is the key of the message of event n, seen from token
// t: a literal, or its expression evaluated over t's variables ("" when
// the message has none, and in a simulation, which has no keys).
func (s *stepper) correlationKey(n *model.Node, t *Token) (string, error) {
	if n.Event != nil && !model.IsExpression(n.Event.CorrelationKey) {
		return n.Event.CorrelationKey, nil // a literal key
	}
	p := n.Expr("correlationKey")
	if p == nil || s.st.Simulate {
		return "", nil
	}
	v, err := p.EvalAt(s.varsFor(t), s.now)
	if err != nil {
		return "", fmt.Errorf("correlation key: %v", err)
	}
	if v == nil {
		if p.IsFEEL() {
			// As in Zeebe: the key must be a string or a number.
			return "", fmt.Errorf("correlation key: expression %q is null, want a string or a number", p.Source())
		}
		return "", nil
	}
	return model.KeyText(v), nil
}
