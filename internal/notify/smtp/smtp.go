// Package smtp sends notification email through an SMTP relay with
// github.com/wneessen/go-mail.
//
// Each message gets a Message-ID derived from its idempotency key, so
// every attempt of one delivery carries the same id and receivers (and
// mail stores) can drop the repeat of a message whose first attempt was
// accepted but not acknowledged. Messages are marked Auto-Submitted
// (RFC 3834) so auto-responders stay quiet.
//
// Failures: SMTP 5xx replies (unknown recipient, rejected sender, failed
// authentication), invalid addresses and certificate errors are
// permanent; 4xx replies, network errors and timeouts are retried.
package smtp

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/batonhq/baton/internal/notify"
)

// TLSMode says how the connection is secured.
type TLSMode string

// TLS modes.
const (
	// TLSNone sends in clear text (local relays and tests only).
	TLSNone TLSMode = "none"
	// TLSStartTLS upgrades a plain connection with STARTTLS and refuses
	// servers that do not offer it (port 587).
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (port 465).
	TLSImplicit TLSMode = "tls"
)

// DefaultTimeout bounds connecting and each SMTP command.
const DefaultTimeout = 30 * time.Second

// Config configures a Sender.
type Config struct {
	Host string
	// Port defaults by TLS mode: 25 (none), 587 (starttls), 465 (tls).
	Port int
	// Username and Password enable SMTP AUTH (the strongest mechanism
	// both sides support; PLAIN and LOGIN only over TLS). The caller
	// reads the password from the environment.
	Username string
	Password string
	// From is the sender address: "Baton <baton@example.com>".
	From string
	// TLS is the TLS mode (default starttls).
	TLS TLSMode
	// InsecureSkipVerify accepts any server certificate (tests only).
	InsecureSkipVerify bool
	// RootCAs verifies the server certificate (default: system roots).
	RootCAs *x509.CertPool
	// Timeout bounds connecting and each command (default
	// DefaultTimeout).
	Timeout time.Duration
	// HELO is the name sent in EHLO (default: this host's name).
	HELO string
	// MessageIDDomain is the right-hand side of Message-IDs (default: the
	// From address's domain).
	MessageIDDomain string
}

// Sender sends email.
type Sender struct {
	cfg    Config
	from   *netmail.Address
	domain string
	opts   []mail.Option
}

var _ notify.Sender = (*Sender)(nil)

// New returns a Sender. It checks the configuration; it does not connect.
func New(cfg Config) (*Sender, error) {
	if cfg.Host == "" {
		return nil, errors.New("smtp: host is empty")
	}
	from, err := netmail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: from address %q: %v", cfg.From, err)
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	if cfg.Port == 0 {
		switch cfg.TLS {
		case TLSNone:
			cfg.Port = 25
		case TLSImplicit:
			cfg.Port = 465
		default:
			cfg.Port = 587
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	domain := cfg.MessageIDDomain
	if domain == "" {
		domain = from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	}
	opts := []mail.Option{
		mail.WithPort(cfg.Port),
		mail.WithTimeout(cfg.Timeout),
		mail.WithTLSConfig(&tls.Config{
			ServerName:         cfg.Host,
			RootCAs:            cfg.RootCAs,
			InsecureSkipVerify: cfg.InsecureSkipVerify, //nolint:gosec // opt-in, for tests
			MinVersion:         tls.VersionTLS12,
		}),
	}
	switch cfg.TLS {
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case TLSStartTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, mail.WithSSL())
	default:
		return nil, fmt.Errorf("smtp: TLS mode %q (want none, starttls or tls)", cfg.TLS)
	}
	if cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password))
	}
	if cfg.HELO != "" {
		opts = append(opts, mail.WithHELO(cfg.HELO))
	}
	// Fail early on options go-mail rejects (port range...).
	if _, err := mail.NewClient(cfg.Host, opts...); err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	return &Sender{cfg: cfg, from: from, domain: domain, opts: opts}, nil
}

// MessageID returns the Message-ID (without angle brackets) for an
// idempotency key: the key itself when it is a safe dot-atom, else a hash
// of it, at domain.
func MessageID(key, domain string) string {
	if !safeAtom(key) {
		sum := sha256.Sum256([]byte(key))
		key = "baton-" + hex.EncodeToString(sum[:16])
	}
	return key + "@" + domain
}

func safeAtom(s string) bool {
	if s == "" || len(s) > 200 || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '+':
		default:
			return false
		}
	}
	return true
}

// Send delivers m to all its recipients in one message.
func (s *Sender) Send(ctx context.Context, m notify.Message) error {
	msg, err := s.build(m)
	if err != nil {
		return notify.Permanent(err)
	}
	// A client per message: go-mail's Client holds one connection, and
	// sends are rare enough that connection reuse does not pay for the
	// locking.
	c, err := mail.NewClient(s.cfg.Host, s.opts...)
	if err != nil {
		return notify.Permanent(fmt.Errorf("smtp: %w", err))
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return classify(fmt.Errorf("smtp %s:%d: %w", s.cfg.Host, s.cfg.Port, err))
	}
	return nil
}

// build turns a notification into a mail message.
func (s *Sender) build(m notify.Message) (*mail.Msg, error) {
	if len(m.To) == 0 {
		return nil, errors.New("smtp: no recipients")
	}
	msg := mail.NewMsg()
	msg.FromMailAddress(s.from)
	if err := msg.To(m.To...); err != nil {
		return nil, fmt.Errorf("smtp: recipients: %w", err)
	}
	msg.Subject(m.Subject)
	if m.IdempotencyKey != "" {
		msg.SetMessageIDWithValue(MessageID(m.IdempotencyKey, s.domain))
	} else {
		msg.SetMessageID()
	}
	msg.SetDate()
	msg.SetUserAgent("Baton")
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	if m.Event != "" {
		msg.SetGenHeader("X-Baton-Event", m.Event)
	}
	if m.InstanceID != "" {
		msg.SetGenHeader("X-Baton-Instance", m.InstanceID)
	}
	switch {
	case m.HTML && m.Text != "":
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(mail.TypeTextHTML, m.Body)
	case m.HTML:
		msg.SetBodyString(mail.TypeTextHTML, m.Body)
	default:
		msg.SetBodyString(mail.TypeTextPlain, m.Body)
	}
	return msg, nil
}

// classify marks err permanent when retrying cannot help: a 5xx reply
// (to a command or during AUTH) or an untrusted server certificate.
func classify(err error) error {
	var se *mail.SendError
	if errors.As(err, &se) {
		if se.ErrorCode() >= 500 {
			return notify.Permanent(err)
		}
		return err
	}
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return notify.Permanent(err)
	}
	var ce *tls.CertificateVerificationError
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	if errors.As(err, &ce) || errors.As(err, &ue) || errors.As(err, &he) {
		return notify.Permanent(err)
	}
	return err
}
