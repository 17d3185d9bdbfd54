// Package mqtt is the MQTT 3.1.1 broker connection, on
// github.com/eclipse/paho.mqtt.golang.
//
// Inbound: a destination is a topic filter, subscribed at QoS 1 in a
// persistent session (clean session off, a fixed client id), with
// automatic acknowledgement off: the PUBACK goes out only after the
// engine committed, and a message not acknowledged when the connection
// ends is sent again by the broker when the session resumes. Outbound: a
// destination is a topic, published at QoS 1; MQTT 3.1.1 has no message
// properties, so the job id travels in the JSON body's batonMessageId
// field (broker.PayloadIDField) when the body is an object.
package mqtt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/batonhq/baton/internal/broker"
)

// Config is one MQTT connection.
type Config struct {
	// URL is tcp://host:1883, ssl://host:8883 or ws://...
	URL                string
	Username, Password string
	// ClientID names the persistent session; it must be unique per
	// Baton node (two clients with one id take the session from each
	// other).
	ClientID    string
	DialTimeout time.Duration // 0: 10s
}

// Dialer opens MQTT sessions.
type Dialer struct{ cfg Config }

// New checks cfg and returns its dialer.
func New(cfg Config) (*Dialer, error) {
	switch {
	case cfg.ClientID == "":
		return nil, errors.New("mqtt: a client id is required for a persistent session")
	case !strings.Contains(cfg.URL, "://"):
		return nil, fmt.Errorf("mqtt url %q: want tcp://host:port, ssl://host:port or ws://host:port", cfg.URL)
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	return &Dialer{cfg: cfg}, nil
}

var _ broker.Dialer = (*Dialer)(nil)

// Dial connects with a persistent session. The client's own
// reconnection is off: the broker manager reconnects with its backoff.
func (d *Dialer) Dial(ctx context.Context) (broker.Session, error) {
	s := &session{cfg: d.cfg, done: make(chan struct{}), handlers: map[string]func(broker.Delivery){}}
	o := paho.NewClientOptions().AddBroker(d.cfg.URL).SetClientID(d.cfg.ClientID).
		SetCleanSession(false).SetAutoReconnect(false).SetConnectRetry(false).
		SetAutoAckDisabled(true).SetOrderMatters(true).SetConnectTimeout(d.cfg.DialTimeout).
		SetDefaultPublishHandler(s.onMessage).
		SetConnectionLostHandler(func(paho.Client, error) { s.end() })
	if d.cfg.Username != "" {
		o.SetUsername(d.cfg.Username)
	}
	if d.cfg.Password != "" {
		o.SetPassword(d.cfg.Password)
	}
	c := paho.NewClient(o)
	t := c.Connect()
	if err := wait(ctx, t, d.cfg.DialTimeout); err != nil {
		return nil, err
	}
	s.c = c
	return s, nil
}

func wait(ctx context.Context, t paho.Token, limit time.Duration) error {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return errors.New("mqtt: timed out")
	}
}

type session struct {
	cfg  Config
	c    paho.Client
	done chan struct{}
	once sync.Once

	mu       sync.RWMutex
	handlers map[string]func(broker.Delivery) // topic filter → handler
	// pending holds messages the resumed session delivered before their
	// subscription's handler was registered again (the broker sends
	// unacknowledged messages right after CONNACK, and will not send
	// them again in this session).
	pending []paho.Message
}

func (s *session) end() { s.once.Do(func() { close(s.done) }) }

func (s *session) Done() <-chan struct{} { return s.done }

func (s *session) Close() error {
	if s.c != nil && s.c.IsConnectionOpen() {
		s.c.Disconnect(250)
	}
	s.end()
	return nil
}

// Consume subscribes to topic filter dest at QoS 1.
func (s *session) Consume(dest string, handle func(broker.Delivery)) error {
	s.mu.Lock()
	s.handlers[dest] = handle
	var early []paho.Message
	rest := s.pending[:0]
	for _, m := range s.pending {
		if Match(dest, m.Topic()) {
			early = append(early, m)
		} else {
			rest = append(rest, m)
		}
	}
	s.pending = rest
	s.mu.Unlock()
	if len(early) > 0 {
		go func() {
			for _, m := range early {
				s.hand(handle, dest, m)
			}
		}()
	}
	return wait(context.Background(), s.c.Subscribe(dest, 1, s.onMessage), s.cfg.DialTimeout)
}

// onMessage routes a message to the handler of the filter it matches; a
// message the persistent session delivers before its subscription is
// made again is kept (unacknowledged) until it is.
func (s *session) onMessage(_ paho.Client, m paho.Message) {
	s.mu.Lock()
	var handle func(broker.Delivery)
	var filter string
	for f, h := range s.handlers {
		if Match(f, m.Topic()) {
			handle, filter = h, f
			break
		}
	}
	if handle == nil {
		s.pending = append(s.pending, m)
	}
	s.mu.Unlock()
	if handle != nil {
		s.hand(handle, filter, m)
	}
}

func (s *session) hand(handle func(broker.Delivery), filter string, m paho.Message) {
	handle(broker.Delivery{Body: m.Payload(), Headers: map[string]any{"topic": m.Topic()}, Destination: filter, Redelivered: m.Duplicate(),
		Ack: func() error { m.Ack(); return nil },
		// MQTT has no negative acknowledgement: ending the session
		// leaves the message unacknowledged, and the broker sends it
		// again when the session resumes.
		Requeue: func() error { s.c.Disconnect(0); s.end(); return nil },
		Reject:  func() error { m.Ack(); return nil }})
}

// Match reports whether topic matches filter (with + and # wildcards).
func Match(filter, topic string) bool {
	f, t := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, p := range f {
		switch {
		case p == "#":
			return true
		case i >= len(t):
			return false
		case p != "+" && p != t[i]:
			return false
		}
	}
	return len(f) == len(t)
}

// Publish sends m to topic dest at QoS 1 and waits for the PUBACK. A JSON
// object body gets the message id in its batonMessageId field.
func (s *session) Publish(ctx context.Context, dest string, m broker.Outgoing) error {
	body := m.Body
	var obj map[string]any
	if json.Unmarshal(body, &obj) == nil && obj != nil {
		obj[broker.PayloadIDField] = m.ID
		b, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		body = b
	}
	return wait(ctx, s.c.Publish(dest, 1, false, body), s.cfg.DialTimeout)
}
