// Package broker connects Baton to message brokers: named connections an
// administrator configures (AMQP 0-9-1, NATS JetStream, MQTT; one package
// per client library below this one), consumers for the broker sources of
// deployed definitions, and the handler that publishes the messages of
// broker sinks.
//
// Delivery into the engine is exactly-once: a broker message is published
// to the engine with an id (the broker's message id, an id expression, or
// a hash of its content), the engine records that id in the transition
// the message causes, and the message is acknowledged to the broker only
// after that transition committed. A redelivered message is refused by id
// (runner.ErrDuplicateMessage) and then acknowledged.
//
// Delivery out of the engine is at-least-once with a stable id: the
// publish is a job written in the transition that reached the sink, and
// its job id is the message id every attempt carries (AMQP message-id,
// NATS Nats-Msg-Id, a field of the MQTT payload), so that a receiver, or
// JetStream's duplicate window, drops a retried copy.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/batonhq/baton/internal/clock"
)

// Delivery is one message a consumer received.
type Delivery struct {
	// ID is the broker's message id ("" when the message has none).
	ID          string
	Body        []byte
	Headers     map[string]any
	Destination string
	// Redelivered is set when the broker says it delivered the message
	// before (AMQP redelivered, JetStream delivery count > 1, MQTT DUP).
	Redelivered bool
	// Ack settles the message; Requeue hands it back for a later
	// redelivery; Reject drops it (AMQP: to its dead-letter exchange).
	Ack, Requeue, Reject func() error
}

// Outgoing is one message to publish.
type Outgoing struct {
	// ID is the message id (the publish job's id, the same on every
	// attempt).
	ID          string
	Body        []byte
	ContentType string
	Headers     map[string]string
}

// Session is one live connection to a broker.
type Session interface {
	// Consume delivers the messages of dest to handle, one at a time,
	// until the session ends.
	Consume(dest string, handle func(Delivery)) error
	// Publish sends m to dest and returns once the broker accepted it.
	Publish(ctx context.Context, dest string, m Outgoing) error
	// Done is closed when the connection is lost or closed.
	Done() <-chan struct{}
	Close() error
}

// Dialer opens sessions to one broker.
type Dialer interface {
	Dial(ctx context.Context) (Session, error)
}

// Observer receives a broker's measurements (internal/metrics
// implements it).
type Observer interface {
	BrokerConnected(broker, kind string, up bool)
	// BrokerMessageIn counts a received message by outcome: delivered,
	// duplicate, buffered, dropped, rejected or error.
	BrokerMessageIn(broker, outcome string)
	// BrokerMessageOut counts a publish by outcome: sent or error.
	BrokerMessageOut(broker, outcome string)
	BrokerRedelivered(broker string)
	// BrokerError counts a failure by operation: connect, consume,
	// publish.
	BrokerError(broker, op string)
}

// Kinds of broker.
const (
	KindAMQP = "amqp"
	KindNATS = "nats"
	KindMQTT = "mqtt"
)

// Connection is one configured broker.
type Connection struct {
	Name   string
	Kind   string
	Dialer Dialer
	// MessageTTL keeps a message nothing waits for yet buffered for a
	// catch event that opens within it; 0 drops it (acknowledged).
	MessageTTL time.Duration
}

// Backoff bounds the wait between reconnection attempts.
type Backoff struct {
	Initial, Max time.Duration
}

// DefaultBackoff waits 100ms after the first failure, doubling to 30s.
var DefaultBackoff = Backoff{Initial: 100 * time.Millisecond, Max: 30 * time.Second}

// wait is the pause before reconnection attempt n (1-based), with ±20%
// jitter so that many nodes do not reconnect in step.
func (b Backoff) wait(n int, rnd float64) time.Duration {
	d := b.Initial
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return time.Duration(float64(d) * (0.8 + 0.4*rnd))
}

// conn keeps one broker connected and its consumers running.
type conn struct {
	Connection
	m *Manager

	mu      sync.Mutex
	sess    Session
	dests   map[string]bool // destinations to consume
	changed chan struct{}   // a destination was added
}

// ErrNotConnected is returned by a publish while the broker is down; the
// publish job retries with backoff.
var ErrNotConnected = errors.New("broker not connected")

func (c *conn) session() (Session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotConnected, c.Name)
	}
	return c.sess, nil
}

// want makes dest consumed, now and after every reconnection.
func (c *conn) want(dest string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dests[dest] {
		return
	}
	c.dests[dest] = true
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// run connects, consumes and reconnects with backoff until ctx ends.
func (c *conn) run(ctx context.Context, clk clock.Clock, log *slog.Logger) {
	failures := 0
	for ctx.Err() == nil {
		sess, err := c.Dialer.Dial(ctx)
		if err != nil {
			failures++
			c.m.obs.BrokerError(c.Name, "connect")
			d := c.m.backoff.wait(failures, rand.Float64())
			log.Warn("broker connect failed", "broker", c.Name, "kind", c.Kind, "attempt", failures, "retry_in", d, "err", err)
			select {
			case <-ctx.Done():
			case <-clk.After(d):
			}
			continue
		}
		failures = 0
		log.Info("broker connected", "broker", c.Name, "kind", c.Kind)
		c.m.obs.BrokerConnected(c.Name, c.Kind, true)
		c.serve(ctx, sess, log)
		c.mu.Lock()
		c.sess = nil
		c.mu.Unlock()
		_ = sess.Close()
		c.m.obs.BrokerConnected(c.Name, c.Kind, false)
		if ctx.Err() == nil {
			log.Warn("broker connection lost", "broker", c.Name)
			failures = 1
			select {
			case <-ctx.Done():
			case <-clk.After(c.m.backoff.wait(failures, rand.Float64())):
			}
		}
	}
}

// serve runs the consumers on one session until it ends.
func (c *conn) serve(ctx context.Context, sess Session, log *slog.Logger) {
	consuming := map[string]bool{}
	c.mu.Lock()
	c.sess = sess
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var todo []string
		for d := range c.dests {
			if !consuming[d] {
				todo = append(todo, d)
			}
		}
		c.mu.Unlock()
		for _, d := range todo {
			if err := sess.Consume(d, func(dl Delivery) { c.m.deliver(ctx, c, dl) }); err != nil {
				c.m.obs.BrokerError(c.Name, "consume")
				log.Error("broker consume failed", "broker", c.Name, "destination", d, "err", err)
				return // reconnect, and try again
			}
			consuming[d] = true
			log.Info("broker consuming", "broker", c.Name, "destination", d)
		}
		select {
		case <-ctx.Done():
			return
		case <-sess.Done():
			return
		case <-c.changed:
		}
	}
}
