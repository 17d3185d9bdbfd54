// Package notify sends Baton's notifications: the messages of send tasks
// (job kind "send") and of lifecycle events (instance started or
// completed, task assigned or overdue, incident opened).
//
// A notification is described once, as a Spec (channel, recipients,
// subject, named template or inline body), rendered over the instance
// variables into a Message, and handed to the Sender of its channel. The
// channels live in their own packages, one third-party dependency each:
// notify/smtp (email), notify/sms (Twilio-compatible HTTP API) and
// notify/webhook (signed JSON POST).
//
// Failures are classified for the runner: an error wrapped with Permanent
// (a runner.PermanentError) cannot be fixed by retrying (bad address,
// 4xx answer, template error) and dead-letters the job at once; any other
// error is retried with the job's backoff. Every attempt of one delivery
// carries the same IdempotencyKey, which the channels pass on (email
// Message-ID, Idempotency-Key header) so receivers can drop repeats.
package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/egress"
	"github.com/batonhq/baton/internal/runner"
)

// Channel names.
const (
	ChannelEmail   = "email"
	ChannelSMS     = "sms"
	ChannelWebhook = "webhook"
)

// Message is one rendered notification. It is JSON-encodable so that it
// can be stored as an outbox row's payload and delivered later.
type Message struct {
	Channel string   `json:"channel"`
	To      []string `json:"to,omitempty"` // email addresses, phone numbers or URLs
	Subject string   `json:"subject,omitempty"`
	Body    string   `json:"body,omitempty"`
	// HTML says Body is HTML; Text is then the plain-text alternative
	// (email sends both as multipart/alternative).
	HTML bool   `json:"html,omitempty"`
	Text string `json:"text,omitempty"`

	Event      string `json:"event,omitempty"`
	InstanceID string `json:"instanceId,omitempty"`
	// IdempotencyKey is the same for every attempt of one delivery.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	// Time is when the event happened (zero: the channel uses the time
	// of sending).
	Time time.Time `json:"time,omitzero"`
	// Data is the structured payload of webhook deliveries (and of custom
	// channels): the instance variables, or the JSON object the template
	// rendered.
	Data map[string]any `json:"data,omitempty"`
}

// Sender delivers messages over one channel. It returns nil when the
// message was accepted, an error wrapped with Permanent when retrying
// cannot help, and any other error when a later attempt may succeed.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, m Message) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }

// Senders routes messages to the sender of their channel.
type Senders map[string]Sender

var _ Sender = Senders(nil)

// Send delivers m with the sender registered for m.Channel.
func (s Senders) Send(ctx context.Context, m Message) (err error) {
	ctx, span := sendSpan(ctx, m)
	defer func() { endSend(span, err) }()
	snd := s[m.Channel]
	if snd == nil {
		return Permanent(fmt.Errorf("notify: no sender for channel %q", m.Channel))
	}
	return snd.Send(ctx, m)
}

// Permanent marks err as a failure that retrying cannot fix. It is
// runner.Permanent, so the runner dead-letters a job that returns it; the
// outbox can tell with IsPermanent.
func Permanent(err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	return runner.Permanent(err)
}

// IsPermanent reports whether err (or an error it wraps) was marked with
// Permanent.
func IsPermanent(err error) bool {
	var pe *runner.PermanentError
	return errors.As(err, &pe)
}

// HTTPError is a non-2xx answer of an HTTP channel (SMS, webhook).
type HTTPError struct {
	URL    string
	Status int
	Body   string // the start of the answer, for the log
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s answered %d %s", e.URL, e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Temporary reports whether the status is worth another attempt: 408,
// 425, 429 and 5xx.
func (e *HTTPError) Temporary() bool {
	switch {
	case e.Status == http.StatusRequestTimeout, e.Status == http.StatusTooEarly,
		e.Status == http.StatusTooManyRequests, e.Status >= 500:
		return true
	}
	return false
}

// maxErrorBody bounds how much of an error answer is kept.
const maxErrorBody = 512

// CheckHTTP classifies the outcome of one HTTP delivery and closes the
// response body. It returns nil for a 2xx answer; a retryable error for
// network failures, timeouts, 408, 425, 429 and 5xx; and a Permanent
// error for other answers and for requests the egress policy refused.
func CheckHTTP(target string, resp *http.Response, err error) error {
	if err != nil {
		var de *egress.DeniedError
		if errors.As(err, &de) {
			return Permanent(err)
		}
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	he := &HTTPError{URL: redact(target), Status: resp.StatusCode, Body: strings.TrimSpace(string(b))}
	if he.Temporary() {
		return he
	}
	return Permanent(he)
}

// redact drops the query and user info of a URL for error messages,
// where tokens tend to hide.
func redact(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.Index(u[i+3:], "@"); j >= 0 && !strings.Contains(u[i+3:i+3+j], "/") {
			u = u[:i+3] + u[i+3+j+1:]
		}
	}
	return u
}

// LogSender is a Sender that only logs what it would deliver and reports
// success. Wire it for channels that are not configured (development,
// demos) so send tasks complete instead of failing.
type LogSender struct {
	Logger *slog.Logger
}

// Send logs m without its body.
func (s LogSender) Send(ctx context.Context, m Message) error {
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	log.WarnContext(ctx, "notification not delivered: channel not configured",
		"channel", m.Channel, "event", m.Event, "instance", m.InstanceID, "recipients", len(m.To), "key", m.IdempotencyKey)
	return nil
}
