// Package sms sends text messages through a Twilio-compatible HTTP API:
// one form POST of To, From and Body per recipient to
// {BaseURL}/2010-04-01/Accounts/{AccountSID}/Messages.json with HTTP basic
// auth (account SID, auth token), through an egress-guarded client.
//
// A 2xx answer is success; 408, 425, 429, 5xx, network errors and
// timeouts are retried; other 4xx answers (invalid number, bad
// credentials) fail permanently. Each request carries an Idempotency-Key
// header derived from the message's key and the recipient, so a retry
// after a partial failure can be de-duplicated by providers that honour
// it.
package sms

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/egress"
	"github.com/batonhq/baton/internal/notify"
)

// Defaults.
const (
	DefaultBaseURL = "https://api.twilio.com"
	DefaultTimeout = 15 * time.Second
)

// Config configures a Sender.
type Config struct {
	// BaseURL is the API root (default DefaultBaseURL).
	BaseURL string
	// AccountSID and AuthToken are the basic-auth credentials; the caller
	// reads the token from the environment.
	AccountSID string
	AuthToken  string
	// From is the sending number (E.164, "+15551234567") or messaging
	// service id.
	From string
	// Client sends the requests (default: egress.Policy{}.Client with
	// DefaultTimeout).
	Client *http.Client
}

// Sender sends SMS messages.
type Sender struct {
	cfg      Config
	endpoint string
}

var _ notify.Sender = (*Sender)(nil)

// New returns a Sender. It checks the configuration.
func New(cfg Config) (*Sender, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sms: base URL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	var missing []string
	if cfg.AccountSID == "" {
		missing = append(missing, "account SID")
	}
	if cfg.AuthToken == "" {
		missing = append(missing, "auth token")
	}
	if cfg.From == "" {
		missing = append(missing, "from number")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("sms: %s not configured", strings.Join(missing, ", "))
	}
	if cfg.Client == nil {
		cfg.Client = egress.Policy{}.Client(DefaultTimeout)
	}
	endpoint := strings.TrimSuffix(cfg.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/Messages.json"
	return &Sender{cfg: cfg, endpoint: endpoint}, nil
}

// Send sends m.Body to each number in m.To, stopping at the first
// failure.
func (s *Sender) Send(ctx context.Context, m notify.Message) error {
	if len(m.To) == 0 {
		return notify.Permanent(errors.New("sms: no recipients"))
	}
	body := strings.TrimSpace(m.Body)
	if body == "" {
		return notify.Permanent(errors.New("sms: empty body"))
	}
	for _, to := range m.To {
		form := url.Values{"To": {to}, "From": {s.cfg.From}, "Body": {body}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, strings.NewReader(form.Encode()))
		if err != nil {
			return notify.Permanent(fmt.Errorf("sms: %w", err))
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.SetBasicAuth(s.cfg.AccountSID, s.cfg.AuthToken)
		if m.IdempotencyKey != "" {
			key := m.IdempotencyKey
			if len(m.To) > 1 {
				key += "-" + to
			}
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := s.cfg.Client.Do(req)
		if cerr := notify.CheckHTTP(s.endpoint, resp, err); cerr != nil {
			return fmt.Errorf("sms to %s: %w", mask(to), cerr)
		}
	}
	return nil
}

// mask hides all but the last four characters of a number, for errors
// that end up in logs and job rows.
func mask(to string) string {
	if len(to) <= 4 {
		return to
	}
	return strings.Repeat("*", len(to)-4) + to[len(to)-4:]
}
