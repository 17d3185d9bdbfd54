// Package webhook delivers notifications as signed JSON POSTs.
//
// The body is {"event", "instanceId", "time", "data"}. Every request
// carries
//
//	Baton-Timestamp: <unix seconds>
//	Baton-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>" with the shared secret>
//	Idempotency-Key: <the same for every attempt of one delivery>
//
// Receivers check the signature and the timestamp's age with Verify and
// drop repeated Idempotency-Keys. A 2xx answer is success; 408, 425, 429,
// 5xx, network errors and timeouts are retried; other answers fail
// permanently.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/egress"
	"github.com/batonhq/baton/internal/notify"
)

// Header names.
const (
	HeaderTimestamp      = "Baton-Timestamp"
	HeaderSignature      = "Baton-Signature"
	HeaderIdempotencyKey = "Idempotency-Key"
)

// Defaults.
const (
	DefaultTimeout   = 10 * time.Second
	DefaultTolerance = 5 * time.Minute
)

// Payload is the JSON body of a webhook request.
type Payload struct {
	Event      string         `json:"event"`
	InstanceID string         `json:"instanceId,omitempty"`
	Time       time.Time      `json:"time"`
	Data       map[string]any `json:"data"`
}

// Config configures a Sender.
type Config struct {
	// Secret is the HMAC key shared with the receivers (required).
	Secret string
	// URLs receive messages that name no recipients.
	URLs []string
	// Client sends the requests (default: egress.Policy{}.Client with
	// DefaultTimeout, which refuses private and loopback targets).
	Client *http.Client
	// Now is the clock for timestamps (default time.Now).
	Now func() time.Time
	// UserAgent is sent with every request (default "Baton-Webhook/1").
	UserAgent string
}

// Sender posts messages to webhook URLs.
type Sender struct {
	cfg Config
}

var _ notify.Sender = (*Sender)(nil)

// New returns a Sender. It checks the configuration.
func New(cfg Config) (*Sender, error) {
	if cfg.Secret == "" {
		return nil, errors.New("webhook: secret is empty")
	}
	for _, u := range cfg.URLs {
		if err := checkURL(u); err != nil {
			return nil, err
		}
	}
	if cfg.Client == nil {
		cfg.Client = egress.Policy{}.Client(DefaultTimeout)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "Baton-Webhook/1"
	}
	return &Sender{cfg: cfg}, nil
}

func checkURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("webhook: %q is not an absolute http(s) URL", u)
	}
	return nil
}

// Send posts m to each of its URLs (or the configured ones) with the same
// body, timestamp and idempotency key. It stops at the first failure; a
// retry posts to every URL again, and receivers that already have the
// key drop the repeat.
func (s *Sender) Send(ctx context.Context, m notify.Message) error {
	targets := m.To
	if len(targets) == 0 {
		targets = s.cfg.URLs
	}
	if len(targets) == 0 {
		return notify.Permanent(errors.New("webhook: no URL to post to"))
	}
	for _, u := range targets {
		if err := checkURL(u); err != nil {
			return notify.Permanent(err)
		}
	}
	now := s.cfg.Now()
	p := Payload{Event: m.Event, InstanceID: m.InstanceID, Time: m.Time, Data: m.Data}
	if p.Time.IsZero() {
		p.Time = now
	}
	p.Time = p.Time.UTC()
	if p.Data == nil {
		p.Data = map[string]any{}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return notify.Permanent(fmt.Errorf("webhook: encode payload: %w", err))
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := sign(s.cfg.Secret, ts, body)
	for _, u := range targets {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
		if err != nil {
			return notify.Permanent(fmt.Errorf("webhook: %w", err))
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", s.cfg.UserAgent)
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderSignature, sig)
		if m.IdempotencyKey != "" {
			req.Header.Set(HeaderIdempotencyKey, m.IdempotencyKey)
		}
		resp, err := s.cfg.Client.Do(req)
		if cerr := notify.CheckHTTP(u, resp, err); cerr != nil {
			return fmt.Errorf("webhook: %w", cerr)
		}
	}
	return nil
}

// Sign returns the Baton-Signature value for body sent at ts.
func Sign(secret string, ts time.Time, body []byte) string {
	return sign(secret, strconv.FormatInt(ts.Unix(), 10), body)
}

func sign(secret, ts string, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verification errors.
var (
	ErrNoSignature    = errors.New("webhook: missing Baton-Timestamp or Baton-Signature header")
	ErrBadTimestamp   = errors.New("webhook: malformed Baton-Timestamp")
	ErrBadSignature   = errors.New("webhook: signature does not match")
	ErrStaleTimestamp = errors.New("webhook: timestamp outside the tolerance (possible replay)")
)

// Verify checks a received webhook: the Baton-Signature header must hold
// a v1 HMAC-SHA256 of "<Baton-Timestamp>.<body>" under secret, and the
// timestamp must lie within tolerance of now (default DefaultTolerance
// when tolerance <= 0), which bounds how long a captured request can be
// replayed. Within that window, drop repeats by Idempotency-Key. body
// must be the raw request body, before any JSON decoding. The signature
// header may list several comma-separated v1 values (secret rotation);
// one match is enough.
func Verify(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	ts, sigs := header.Get(HeaderTimestamp), header.Get(HeaderSignature)
	if ts == "" || sigs == "" {
		return ErrNoSignature
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range strings.Split(sigs, ",") {
		v, found := strings.CutPrefix(strings.TrimSpace(s), "v1=")
		if !found {
			continue
		}
		got, err := hex.DecodeString(v)
		if err == nil && hmac.Equal(got, want) {
			ok = true
		}
	}
	if !ok {
		return ErrBadSignature
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStaleTimestamp
	}
	return nil
}
