package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/batonhq/baton/internal/engine"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/store"
)

// The outbox seam. Lifecycle notifications are rendered when their event
// commits and delivered later, from the outbox table, by whichever node
// leases the row:
//
//  1. In the transaction of a transition, for each lifecycle event it
//     produced, the runner calls Subscriptions.OutboxRows (or Messages)
//     and stores the rows with the rest of the transition. A rendering
//     error must not fail the transition: log it (it names the
//     subscription) and store the rows that rendered.
//  2. The runner's outbox loop leases pending rows, calls Senders.Deliver
//     for each, and marks the row sent on nil, dead on an error for which
//     IsPermanent holds (or when attempts run out), and pending at a
//     backoff time otherwise.

// OutboxKeyPrefix starts the idempotency key of an outbox delivery; the
// row id follows.
const OutboxKeyPrefix = "baton-outbox-"

// OutboxRows renders the messages subscriptions want for an event (see
// Messages) as pending outbox rows: Event, Channel, InstanceID, Target
// (the recipients, comma-separated, for listings) and Payload (the
// Message as JSON), due at now. The caller assigns the row ids.
func (s *Subscriptions) OutboxRows(event engine.EventType, definitionID string, vars map[string]any, instanceID string, now time.Time) ([]store.OutboxRow, error) {
	msgs, err := s.Messages(event, definitionID, vars, instanceID)
	rows := make([]store.OutboxRow, 0, len(msgs))
	for _, m := range msgs {
		if m.Time.IsZero() {
			m.Time = now
		}
		payload, jerr := json.Marshal(m)
		if jerr != nil {
			return nil, fmt.Errorf("notify: encode outbox payload: %w", jerr)
		}
		rows = append(rows, store.OutboxRow{
			InstanceID: instanceID, Event: string(event), Channel: m.Channel, Target: strings.Join(m.To, ", "),
			Payload: payload, State: store.OutboxPending, RunAt: now, CreatedAt: now,
		})
	}
	return rows, err
}

// Deliver sends the message stored in an outbox row, with the idempotency
// key OutboxKeyPrefix + row.ID. A payload that does not decode is a
// permanent failure.
func (s Senders) Deliver(ctx context.Context, row store.OutboxRow) error {
	var m Message
	if err := json.Unmarshal(row.Payload, &m); err != nil {
		return Permanent(fmt.Errorf("notify: outbox row %s: payload: %w", row.ID, err))
	}
	if m.Channel == "" {
		m.Channel = row.Channel
	}
	if m.InstanceID == "" {
		m.InstanceID = row.InstanceID
	}
	if m.Event == "" {
		m.Event = row.Event
	}
	m.IdempotencyKey = OutboxKeyPrefix + row.ID
	if err := s.Send(ctx, m); err != nil {
		return fmt.Errorf("notify: outbox row %s: %s: %w", row.ID, m.Channel, err)
	}
	return nil
}
