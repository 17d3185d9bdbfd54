package engine

import (
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/model"
)

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
			s.incident(owner, IncidentTimer, err.Error(), "")
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
				s.incident(owner, IncidentExpression, "correlation key: "+err.Error(), "")
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
