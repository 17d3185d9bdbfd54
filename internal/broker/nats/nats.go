// Package nats is the NATS JetStream broker connection, on
// github.com/nats-io/nats.go and its jetstream package.
//
// Inbound: a destination is a subject that a JetStream stream holds; it is
// consumed by a durable pull consumer with explicit acknowledgements
// (acknowledged with a double ack, so the ack is known to have reached
// the server). Outbound: a destination is a subject; the message carries
// the job id as Nats-Msg-Id, so the stream's duplicate window drops a copy
// published again after a crash.
package nats

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/batonhq/baton/internal/broker"
)

// Config is one NATS connection.
type Config struct {
	URL                string
	Name               string // the client name the server shows
	Username, Password string
	Token              string
	// AckWait is how long the server waits for an ack before it
	// redelivers (0: 30s).
	AckWait time.Duration
	// MaxAckPending bounds the unacknowledged messages per consumer
	// (0: 16).
	MaxAckPending int
	DialTimeout   time.Duration // 0: 10s
}

// Dialer opens NATS sessions.
type Dialer struct{ cfg Config }

// New checks cfg and returns its dialer.
func New(cfg Config) (*Dialer, error) {
	if !strings.HasPrefix(cfg.URL, "nats://") && !strings.HasPrefix(cfg.URL, "tls://") {
		return nil, fmt.Errorf("nats url %q: want nats://host:port or tls://host:port", cfg.URL)
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.MaxAckPending <= 0 {
		cfg.MaxAckPending = 16
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	return &Dialer{cfg: cfg}, nil
}

var _ broker.Dialer = (*Dialer)(nil)

// Dial connects. The client's own reconnection is off: the broker manager
// reconnects with its backoff and starts the consumers again.
func (d *Dialer) Dial(ctx context.Context) (broker.Session, error) {
	s := &session{cfg: d.cfg, done: make(chan struct{})}
	opts := []natsgo.Option{natsgo.Name(d.cfg.Name), natsgo.Timeout(d.cfg.DialTimeout), natsgo.NoReconnect(),
		natsgo.ClosedHandler(func(*natsgo.Conn) { s.end() })}
	if d.cfg.Username != "" || d.cfg.Password != "" {
		opts = append(opts, natsgo.UserInfo(d.cfg.Username, d.cfg.Password))
	}
	if d.cfg.Token != "" {
		opts = append(opts, natsgo.Token(d.cfg.Token))
	}
	nc, err := natsgo.Connect(d.cfg.URL, opts...)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	s.nc, s.js = nc, js
	return s, nil
}

type session struct {
	cfg  Config
	nc   *natsgo.Conn
	js   jetstream.JetStream
	done chan struct{}
	once sync.Once

	mu   sync.Mutex
	subs []jetstream.ConsumeContext
}

func (s *session) end() { s.once.Do(func() { close(s.done) }) }

func (s *session) Done() <-chan struct{} { return s.done }

func (s *session) Close() error {
	s.mu.Lock()
	for _, c := range s.subs {
		c.Stop()
	}
	s.subs = nil
	s.mu.Unlock()
	s.nc.Close()
	s.end()
	return nil
}

// Durable is the durable consumer name of a subject: the same on every
// node and across restarts, so that the server keeps what was
// acknowledged.
func Durable(subject string) string {
	h := sha256.Sum256([]byte(subject))
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, subject)
	if len(clean) > 40 {
		clean = clean[:40]
	}
	return "baton_" + clean + "_" + hex.EncodeToString(h[:4])
}

// Consume binds a durable consumer for subject dest on the stream that
// holds it.
func (s *session) Consume(dest string, handle func(broker.Delivery)) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.DialTimeout)
	defer cancel()
	stream, err := s.js.StreamNameBySubject(ctx, dest)
	if err != nil {
		return fmt.Errorf("no JetStream stream holds subject %q: %w", dest, err)
	}
	cons, err := s.js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable: Durable(dest), FilterSubject: dest, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: s.cfg.AckWait, MaxAckPending: s.cfg.MaxAckPending, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("consumer on stream %s for %q: %w", stream, dest, err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { handle(s.delivery(dest, m)) },
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if s.nc.IsClosed() {
				s.end()
			}
		}))
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.subs = append(s.subs, cc)
	s.mu.Unlock()
	return nil
}

func (s *session) delivery(dest string, m jetstream.Msg) broker.Delivery {
	h := map[string]any{}
	for k, v := range m.Headers() {
		if len(v) > 0 {
			h[k] = v[0]
		}
	}
	h["subject"] = m.Subject()
	redelivered := false
	if meta, err := m.Metadata(); err == nil {
		redelivered = meta.NumDelivered > 1
	}
	return broker.Delivery{ID: m.Headers().Get(natsgo.MsgIdHdr), Body: m.Data(), Headers: h, Destination: dest, Redelivered: redelivered,
		Ack: func() error {
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.DialTimeout)
			defer cancel()
			return m.DoubleAck(ctx)
		},
		Requeue: m.Nak,
		Reject:  m.Term}
}

// Publish sends m to subject dest with Nats-Msg-Id and waits for the
// stream's acknowledgement.
func (s *session) Publish(ctx context.Context, dest string, m broker.Outgoing) error {
	msg := natsgo.NewMsg(dest)
	msg.Data = m.Body
	for k, v := range m.Headers {
		msg.Header.Set(k, v)
	}
	if m.ContentType != "" {
		msg.Header.Set("Content-Type", m.ContentType)
	}
	_, err := s.js.PublishMsg(ctx, msg, jetstream.WithMsgID(m.ID))
	return err
}
