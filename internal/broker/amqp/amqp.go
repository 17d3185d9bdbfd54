// Package amqp is the AMQP 0-9-1 (RabbitMQ) broker connection, on
// github.com/rabbitmq/amqp091-go.
//
// Inbound: a destination is a queue, declared durable if missing, consumed
// with manual acknowledgements and a bounded prefetch. Outbound: a
// destination is a routing key on the default exchange (a queue name; the
// queue is declared durable), or "exchange/routing-key"; messages are
// persistent, carry the job id as message-id, and a publish returns when
// the broker confirmed it (publisher confirms).
package amqp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/batonhq/baton/internal/broker"
)

// Config is one AMQP connection.
type Config struct {
	// URL is amqp://host:port/vhost (or amqps://); credentials in it are
	// overridden by Username and Password.
	URL                string
	Username, Password string
	// Prefetch bounds the unacknowledged messages per consumer (0: 16).
	Prefetch int
	// DialTimeout bounds a connection attempt (0: 10s).
	DialTimeout time.Duration
}

// Dialer opens AMQP sessions.
type Dialer struct{ cfg Config }

// New checks cfg and returns its dialer.
func New(cfg Config) (*Dialer, error) {
	if _, err := amqp.ParseURI(cfg.URL); err != nil {
		return nil, fmt.Errorf("amqp url: %w", err)
	}
	if cfg.Prefetch <= 0 {
		cfg.Prefetch = 16
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	return &Dialer{cfg: cfg}, nil
}

var _ broker.Dialer = (*Dialer)(nil)

// Dial connects and opens the publishing channel in confirm mode.
func (d *Dialer) Dial(ctx context.Context) (broker.Session, error) {
	cfg := amqp.Config{Heartbeat: 10 * time.Second, Locale: "en_US", Dial: amqp.DefaultDial(d.cfg.DialTimeout)}
	if d.cfg.Username != "" || d.cfg.Password != "" {
		cfg.SASL = []amqp.Authentication{&amqp.PlainAuth{Username: d.cfg.Username, Password: d.cfg.Password}}
	}
	conn, err := amqp.DialConfig(d.cfg.URL, cfg)
	if err != nil {
		return nil, err
	}
	pub, err := conn.Channel()
	if err != nil {
		conn.Close()
		return nil, err
	}
	if err := pub.Confirm(false); err != nil {
		conn.Close()
		return nil, fmt.Errorf("publisher confirms: %w", err)
	}
	s := &session{conn: conn, pub: pub, prefetch: d.cfg.Prefetch, done: make(chan struct{}), declared: map[string]bool{}}
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	pubClosed := pub.NotifyClose(make(chan *amqp.Error, 1))
	go func() {
		select {
		case <-closed:
		case <-pubClosed:
		}
		s.end()
	}()
	return s, nil
}

type session struct {
	conn     *amqp.Connection
	prefetch int
	done     chan struct{}
	once     sync.Once

	mu       sync.Mutex // the publishing channel
	pub      *amqp.Channel
	declared map[string]bool
}

func (s *session) end() { s.once.Do(func() { close(s.done) }) }

func (s *session) Done() <-chan struct{} { return s.done }

func (s *session) Close() error {
	s.end()
	if s.conn.IsClosed() {
		return nil
	}
	return s.conn.Close()
}

// Consume declares queue dest (durable) and consumes it on a channel of
// its own with manual acknowledgements.
func (s *session) Consume(dest string, handle func(broker.Delivery)) error {
	ch, err := s.conn.Channel()
	if err != nil {
		return err
	}
	if err := ch.Qos(s.prefetch, 0, false); err != nil {
		return err
	}
	if _, err := ch.QueueDeclare(dest, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare queue %q: %w", dest, err)
	}
	msgs, err := ch.Consume(dest, "", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume queue %q: %w", dest, err)
	}
	go func() {
		for m := range msgs {
			handle(delivery(dest, m))
		}
		// The channel or the connection closed: the session is over.
		s.end()
	}()
	return nil
}

func delivery(dest string, m amqp.Delivery) broker.Delivery {
	h := make(map[string]any, len(m.Headers)+2)
	for k, v := range m.Headers {
		h[k] = v
	}
	if m.ContentType != "" {
		h["content-type"] = m.ContentType
	}
	if m.CorrelationId != "" {
		h["correlation-id"] = m.CorrelationId
	}
	return broker.Delivery{ID: m.MessageId, Body: m.Body, Headers: h, Destination: dest, Redelivered: m.Redelivered,
		Ack:     func() error { return m.Ack(false) },
		Requeue: func() error { return m.Nack(false, true) },
		Reject:  func() error { return m.Reject(false) }}
}

// Publish sends m persistently and waits for the broker's confirm.
func (s *session) Publish(ctx context.Context, dest string, m broker.Outgoing) error {
	exchange, key := "", dest
	if i := strings.IndexByte(dest, '/'); i >= 0 {
		exchange, key = dest[:i], dest[i+1:]
	}
	headers := amqp.Table{}
	for k, v := range m.Headers {
		headers[k] = v
	}
	s.mu.Lock()
	if exchange == "" && !s.declared[key] {
		if _, err := s.pub.QueueDeclare(key, true, false, false, false, nil); err != nil {
			s.mu.Unlock()
			return fmt.Errorf("declare queue %q: %w", key, err)
		}
		s.declared[key] = true
	}
	dc, err := s.pub.PublishWithDeferredConfirmWithContext(ctx, exchange, key, false, false, amqp.Publishing{
		MessageId: m.ID, ContentType: m.ContentType, DeliveryMode: amqp.Persistent, Body: m.Body, Headers: headers,
		Timestamp: time.Now()})
	s.mu.Unlock()
	if err != nil {
		return err
	}
	ok, err := dc.WaitContext(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("the broker refused the message (nack)")
	}
	return nil
}
