package broker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

// PayloadIDField is the field of a JSON object body that carries the
// message id where the protocol has no place for one (MQTT 3.1.1): set on
// publish, read on receipt.
const PayloadIDField = "batonMessageId"

// retryPause is how long a message the engine could not take (a database
// error, say) is held before it is handed back to the broker, so that a
// failing database does not turn into a hot redelivery loop.
const retryPause = time.Second

// deliver publishes one broker message to the engine under every message
// name its destination is routed to, and settles it: acknowledged once
// every publication committed (or was a duplicate), handed back when one
// failed for a reason that may pass, rejected when it cannot be read.
func (m *Manager) deliver(ctx context.Context, c *conn, d Delivery) {
	if d.Redelivered {
		m.obs.BrokerRedelivered(c.Name)
	}
	routes := m.routesFor(c.Name, d.Destination)
	m.log.Debug("broker message received", "broker", c.Name, "destination", d.Destination, "id", d.ID, "redelivered", d.Redelivered, "routes", len(routes))
	env := messageEnv(c.Name, d)
	retry := false
	for _, rt := range routes {
		outcome, err := m.publishIn(ctx, c, rt, env, d)
		m.obs.BrokerMessageIn(c.Name, outcome)
		m.log.Debug("broker message taken", "broker", c.Name, "destination", d.Destination, "message", rt.name, "outcome", outcome, "redelivered", d.Redelivered)
		switch outcome {
		case "rejected":
			m.log.Error("broker message cannot be read; rejected", "broker", c.Name, "destination", d.Destination, "message", rt.name, "node", rt.node.ID, "err", err)
			settle(c, m, d.Reject, "reject")
			return
		case "error":
			m.log.Warn("broker message not taken; handed back", "broker", c.Name, "destination", d.Destination, "message", rt.name, "err", err)
			retry = true
		}
	}
	if retry {
		select {
		case <-ctx.Done():
		case <-m.r.Clock().After(retryPause):
		}
		settle(c, m, d.Requeue, "requeue")
		return
	}
	settle(c, m, d.Ack, "ack")
}

func settle(c *conn, m *Manager, f func() error, what string) {
	if f == nil {
		return
	}
	if err := f(); err != nil {
		m.obs.BrokerError(c.Name, what)
		m.log.Warn("broker settle failed; the message will come again", "broker", c.Name, "op", what, "err", err)
	}
}

// messageEnv is what a source's expressions see.
func messageEnv(broker string, d Delivery) map[string]any {
	var body any
	if err := json.Unmarshal(d.Body, &body); err != nil {
		body = string(d.Body)
	}
	headers := d.Headers
	if headers == nil {
		headers = map[string]any{}
	}
	return map[string]any{"body": body, "headers": headers, "messageId": d.ID, "broker": broker, "destination": d.Destination}
}

// publishIn hands the message to the engine as route rt's message, and
// says how it went: delivered, duplicate, buffered, dropped, rejected
// (it cannot be read) or error (try again).
func (m *Manager) publishIn(ctx context.Context, c *conn, rt route, env map[string]any, d Delivery) (string, error) {
	now := m.r.Clock().Now()
	key := rt.src.CorrelationKey
	if p := rt.node.Expr("source:correlationKey"); p != nil {
		v, err := p.EvalAt(env, now)
		if err != nil {
			return "rejected", fmt.Errorf("correlationKey: %w", err)
		}
		key = model.KeyText(v)
	}
	var vars map[string]any
	if p := rt.node.Expr("source:variables"); p != nil {
		v, err := p.EvalAt(env, now)
		if err != nil {
			return "rejected", fmt.Errorf("variables: %w", err)
		}
		obj, ok := v.(map[string]any)
		if !ok && v != nil {
			return "rejected", fmt.Errorf("variables: expression %q gave %T, want an object", rt.src.Variables, v)
		}
		vars = obj
	} else if obj, ok := env["body"].(map[string]any); ok {
		vars = obj
	}
	id := d.ID
	if p := rt.node.Expr("source:messageId"); p != nil {
		v, err := p.EvalAt(env, now)
		if err != nil {
			return "rejected", fmt.Errorf("messageId: %w", err)
		}
		id = model.KeyText(v)
	}
	if id == "" {
		if obj, ok := env["body"].(map[string]any); ok {
			id, _ = obj[PayloadIDField].(string)
		}
	}
	if id == "" {
		h := sha256.Sum256(d.Body)
		id = "sha256:" + hex.EncodeToString(h[:])
	}
	msg := runner.Message{Name: rt.name, Key: key, ID: "broker:" + c.Name + ":" + rt.name + ":" + id,
		Variables: vars, TTL: c.MessageTTL, Actor: "broker " + c.Name}
	_, buffered, err := m.r.PublishMessage(ctx, msg)
	switch {
	case err == nil && buffered != nil:
		return "buffered", nil
	case err == nil:
		return "delivered", nil
	case errors.Is(err, runner.ErrDuplicateMessage):
		m.log.Info("broker message was delivered before; acknowledged", "broker", c.Name, "message", rt.name, "id", msg.ID)
		return "duplicate", nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, engine.ErrNoSubscription):
		m.log.Info("broker message has no receiver; dropped", "broker", c.Name, "message", rt.name, "key", key)
		return "dropped", nil
	}
	return "error", err
}
