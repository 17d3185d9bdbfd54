package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/batonhq/baton/internal/engine"
	"slices"
	"strings"
)

// Subscription sends a notification when a lifecycle event happens.
type Subscription struct {
	// Event is one of engine.LifecycleEvents.
	Event engine.EventType `json:"event"`
	// Definition limits the subscription to instances of one workflow
	// definition id; "" means every definition. Global and per-definition
	// subscriptions that match the same event all fire.
	Definition string `json:"definition,omitempty"`
	Spec
}

// Subscriptions is the configured list of lifecycle subscriptions. A nil
// *Subscriptions is valid and has none. It is safe for concurrent use.
//
// The seam with the runner (see OutboxRows and Senders.Deliver): when a
// transition commits lifecycle events, the runner renders them with
// OutboxRows inside the same transaction, and its outbox loop later
// delivers each row with Senders.Deliver, whose idempotency key comes
// from the row id, so every delivery attempt carries the same key.
type Subscriptions struct {
	list []Subscription
	r    *renderer
}

// NewSubscriptions validates list against templates (nil: inline bodies
// only) and compiles its templates and expressions.
func NewSubscriptions(list []Subscription, templates *Templates) (*Subscriptions, error) {
	s := &Subscriptions{list: slices.Clone(list), r: newRenderer(templates)}
	var errs []error
	for i, sub := range s.list {
		where := fmt.Sprintf("subscription %d (%s)", i+1, sub.Event)
		if !slices.Contains(engine.LifecycleEvents, sub.Event) {
			errs = append(errs, fmt.Errorf("%s: unknown event %q (want one of %s)", where, sub.Event, lifecycleList()))
		}
		if err := s.r.check(sub.Spec); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	return s, nil
}

// ParseSubscriptions reads subscriptions from JSON: either a list of
// subscription objects or {"subscriptions": [...]}. Unknown fields are
// errors.
//
//	[{"event": "incident.opened", "channel": "email", "to": "ops@example.com", "template": "incident"},
//	 {"event": "task.assigned", "definition": "loan", "channel": "sms", "to": "=task.assigneePhone",
//	  "body": "New task {{.task.name}}"}]
func ParseSubscriptions(data []byte, templates *Templates) (*Subscriptions, error) {
	data = bytes.TrimSpace(data)
	var list []Subscription
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var err error
	if len(data) > 0 && data[0] == '{' {
		var doc struct {
			Subscriptions []Subscription `json:"subscriptions"`
		}
		err = dec.Decode(&doc)
		list = doc.Subscriptions
	} else {
		err = dec.Decode(&list)
	}
	if err != nil {
		return nil, fmt.Errorf("notify: subscriptions: %w", err)
	}
	return NewSubscriptions(list, templates)
}

// List returns the subscriptions.
func (s *Subscriptions) List() []Subscription {
	if s == nil {
		return nil
	}
	return slices.Clone(s.list)
}

// Match reports whether any subscription wants event for definitionID, so
// a caller can skip building variables for events nobody wants.
func (s *Subscriptions) Match(event engine.EventType, definitionID string) bool {
	if s == nil {
		return false
	}
	for _, sub := range s.list {
		if sub.matches(event, definitionID) {
			return true
		}
	}
	return false
}

func (sub Subscription) matches(event engine.EventType, definitionID string) bool {
	return sub.Event == event && (sub.Definition == "" || sub.Definition == definitionID)
}

// Messages renders the messages the subscriptions want for one event of
// an instance of definitionID. vars are what templates and recipient
// expressions see besides .Event and .Instance: the instance variables,
// and for task events a "task" object (id, name, assignee, due...), for
// incidents an "incident" object (id, nodeId, message). The messages'
// IdempotencyKey is left empty for the caller (the outbox row id).
//
// A subscription that fails to render does not stop the others: Messages
// returns the messages that rendered and the joined errors of those that
// did not (each marked Permanent: retrying renders the same failure).
func (s *Subscriptions) Messages(event engine.EventType, definitionID string, vars map[string]any, instanceID string) ([]Message, error) {
	if s == nil {
		return nil, nil
	}
	var out []Message
	var errs []error
	for i, sub := range s.list {
		if !sub.matches(event, definitionID) {
			continue
		}
		m, err := s.r.render(sub.Spec, vars, string(event), InstanceInfo{ID: instanceID, DefinitionID: definitionID})
		if err != nil {
			errs = append(errs, fmt.Errorf("subscription %d (%s → %s): %w", i+1, sub.Event, sub.Channel, err))
			continue
		}
		out = append(out, m)
	}
	return out, Permanent(errors.Join(errs...))
}

// lifecycleList lists engine.LifecycleEvents for messages.
func lifecycleList() string {
	names := make([]string, len(engine.LifecycleEvents))
	for i, e := range engine.LifecycleEvents {
		names[i] = string(e)
	}
	return strings.Join(names, ", ")
}
