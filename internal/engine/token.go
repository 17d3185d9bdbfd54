package engine

import (
	"github.com/batonhq/baton/internal/model"
)

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
