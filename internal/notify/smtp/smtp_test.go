package smtp_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"github.com/batonhq/baton/internal/engine"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/batonhq/baton/internal/notify"
	"github.com/batonhq/baton/internal/notify/smtp"
)

// envelope is one message the test server accepted.
type envelope struct {
	from     string
	to       []string
	data     []byte
	tls      bool
	authUser string
}

// backend is an in-process SMTP server backend that records envelopes.
type backend struct {
	user, pass string // non-empty: AUTH PLAIN required
	rcptErr    error  // returned for every RCPT TO

	mu   sync.Mutex
	got  []envelope
	auth int // successful AUTH commands
}

func (b *backend) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	return &session{b: b, c: c}, nil
}

func (b *backend) envelopes() []envelope {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]envelope(nil), b.got...)
}

type session struct {
	b    *backend
	c    *gosmtp.Conn
	user string
	env  envelope
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.b.user || password != s.b.pass {
			return gosmtp.ErrAuthFailed
		}
		s.user = username
		s.b.mu.Lock()
		s.b.auth++
		s.b.mu.Unlock()
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.b.user != "" && s.user == "" {
		return gosmtp.ErrAuthRequired
	}
	_, isTLS := s.c.TLSConnectionState()
	s.env = envelope{from: from, tls: isTLS, authUser: s.user}
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if s.b.rcptErr != nil {
		return s.b.rcptErr
	}
	s.env.to = append(s.env.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.env.data = data
	s.b.mu.Lock()
	s.b.got = append(s.b.got, s.env)
	s.b.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.env = envelope{} }
func (s *session) Logout() error { return nil }

// selfSigned returns a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "baton test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

type serverOpts struct {
	tls      bool // offer STARTTLS
	implicit bool // TLS from the first byte
}

// startServer runs an SMTP server on 127.0.0.1 and returns its port and
// a pool trusting its certificate.
func startServer(t *testing.T, be *backend, o serverOpts) (int, *x509.CertPool) {
	t.Helper()
	cert, pool := selfSigned(t)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := gosmtp.NewServer(be)
	srv.Domain = "localhost"
	srv.ReadTimeout = 5 * time.Second
	srv.WriteTimeout = 5 * time.Second
	srv.MaxRecipients = 10
	if o.tls || o.implicit {
		srv.TLSConfig = tlsCfg
	}
	if o.implicit {
		ln = tls.NewListener(ln, tlsCfg)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port, pool
}

func newSender(t *testing.T, cfg smtp.Config) *smtp.Sender {
	t.Helper()
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.From == "" {
		cfg.From = "Baton <baton@example.com>"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	s, err := smtp.New(cfg)
	if err != nil {
		t.Fatalf("smtp.New: %v", err)
	}
	return s
}

func message(key string) notify.Message {
	return notify.Message{
		Channel: notify.ChannelEmail, To: []string{"Ann Lee <ann@example.org>", "ops@example.net"},
		Subject: "Loan 42 approved – grüß dich", Body: "Hello Ann,\nyour loan of 5000 was approved.\n",
		Event: string(engine.EventSend), InstanceID: "inst-42", IdempotencyKey: key,
	}
}

// parsed is a received message, decoded.
type parsed struct {
	header netmail.Header
	body   string
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("received message does not parse: %v\n%s", err, data)
	}
	body, err := io.ReadAll(decodeCTE(m.Header.Get("Content-Transfer-Encoding"), m.Body))
	if err != nil {
		t.Fatal(err)
	}
	return parsed{header: m.Header, body: string(body)}
}

func decodeCTE(cte string, r io.Reader) io.Reader {
	if strings.EqualFold(cte, "quoted-printable") {
		return quotedprintable.NewReader(r)
	}
	return r
}

func header(t *testing.T, h netmail.Header, name string) string {
	t.Helper()
	v, err := new(mime.WordDecoder).DecodeHeader(h.Get(name))
	if err != nil {
		t.Fatalf("header %s: %v", name, err)
	}
	return v
}

func TestStartTLSWithAuthPlain(t *testing.T) {
	be := &backend{user: "baton", pass: "s3cret"}
	port, pool := startServer(t, be, serverOpts{tls: true})
	s := newSender(t, smtp.Config{Port: port, TLS: smtp.TLSStartTLS, RootCAs: pool, Username: "baton", Password: "s3cret"})

	if err := s.Send(context.Background(), message("baton-job-1")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := be.envelopes()
	if len(got) != 1 {
		t.Fatalf("server got %d messages, want 1", len(got))
	}
	env := got[0]
	if !env.tls || env.authUser != "baton" {
		t.Errorf("envelope tls=%v auth=%q, want STARTTLS and AUTH PLAIN as baton", env.tls, env.authUser)
	}
	if env.from != "baton@example.com" || strings.Join(env.to, ",") != "ann@example.org,ops@example.net" {
		t.Errorf("envelope from %q to %v", env.from, env.to)
	}
	m := parse(t, env.data)
	if from := header(t, m.header, "From"); from != `"Baton" <baton@example.com>` && from != "Baton <baton@example.com>" {
		t.Errorf("From = %q", from)
	}
	to := header(t, m.header, "To")
	if !strings.Contains(to, "<ann@example.org>") || !strings.Contains(to, "ops@example.net") || !strings.Contains(to, "Ann Lee") {
		t.Errorf("To = %q", to)
	}
	if subj := header(t, m.header, "Subject"); subj != "Loan 42 approved – grüß dich" {
		t.Errorf("Subject = %q", subj)
	}
	if id := m.header.Get("Message-Id"); id != "<baton-job-1@example.com>" {
		t.Errorf("Message-ID = %q, want one derived from the idempotency key", id)
	}
	if m.header.Get("Auto-Submitted") != "auto-generated" || m.header.Get("X-Baton-Instance") != "inst-42" || m.header.Get("X-Baton-Event") != "send" {
		t.Errorf("headers = %v", m.header)
	}
	if !strings.HasPrefix(m.header.Get("Content-Type"), "text/plain") {
		t.Errorf("Content-Type = %q", m.header.Get("Content-Type"))
	}
	if strings.ReplaceAll(m.body, "\r\n", "\n") != "Hello Ann,\nyour loan of 5000 was approved.\n" {
		t.Errorf("body = %q", m.body)
	}
}

func TestMessageIDStableAcrossAttempts(t *testing.T) {
	be := &backend{}
	port, pool := startServer(t, be, serverOpts{tls: true})
	s := newSender(t, smtp.Config{Port: port, RootCAs: pool})
	for _, key := range []string{"baton-job-7", "baton-job-7", "baton-job-8"} {
		if err := s.Send(context.Background(), message(key)); err != nil {
			t.Fatalf("Send(%s): %v", key, err)
		}
	}
	got := be.envelopes()
	if len(got) != 3 {
		t.Fatalf("server got %d messages, want 3", len(got))
	}
	id := func(i int) string { return parse(t, got[i].data).header.Get("Message-Id") }
	if id(0) != id(1) {
		t.Errorf("two attempts of one key have Message-IDs %q and %q, want equal", id(0), id(1))
	}
	if id(0) == id(2) {
		t.Errorf("different keys share Message-ID %q", id(0))
	}
}

func TestHTMLWithTextAlternative(t *testing.T) {
	be := &backend{}
	port, pool := startServer(t, be, serverOpts{tls: true})
	s := newSender(t, smtp.Config{Port: port, RootCAs: pool})
	m := message("baton-job-9")
	m.HTML, m.Body, m.Text = true, "<p>Hello <b>Ann</b></p>", "Hello Ann"
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	p := parse(t, be.envelopes()[0].data)
	mt, params, err := mime.ParseMediaType(p.header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q, want multipart/alternative", p.header.Get("Content-Type"))
	}
	mr := multipart.NewReader(strings.NewReader(p.body), params["boundary"])
	var types, bodies []string
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(decodeCTE(part.Header.Get("Content-Transfer-Encoding"), part))
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		types = append(types, ct)
		bodies = append(bodies, string(b))
	}
	if strings.Join(types, ",") != "text/plain,text/html" || bodies[0] != "Hello Ann" || bodies[1] != "<p>Hello <b>Ann</b></p>" {
		t.Errorf("parts %v %q", types, bodies)
	}
}

func TestImplicitTLS(t *testing.T) {
	be := &backend{user: "u", pass: "p"}
	port, _ := startServer(t, be, serverOpts{implicit: true})
	s := newSender(t, smtp.Config{Port: port, TLS: smtp.TLSImplicit, InsecureSkipVerify: true, Username: "u", Password: "p"})
	if err := s.Send(context.Background(), message("baton-job-10")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := be.envelopes(); len(got) != 1 || !got[0].tls || got[0].authUser != "u" {
		t.Errorf("envelopes = %+v, want one over TLS with auth", got)
	}
}

func TestPlainConnection(t *testing.T) {
	be := &backend{}
	port, _ := startServer(t, be, serverOpts{})
	s := newSender(t, smtp.Config{Port: port, TLS: smtp.TLSNone})
	if err := s.Send(context.Background(), message("baton-job-11")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := be.envelopes(); len(got) != 1 || got[0].tls {
		t.Errorf("envelopes = %+v, want one in clear text", got)
	}
}

func TestFailures(t *testing.T) {
	cases := []struct {
		name      string
		be        *backend
		srv       serverOpts
		cfg       func(port int, pool *x509.CertPool) smtp.Config
		permanent bool
	}{
		{
			name: "wrong password", be: &backend{user: "baton", pass: "right"}, srv: serverOpts{tls: true},
			cfg: func(port int, pool *x509.CertPool) smtp.Config {
				return smtp.Config{Port: port, RootCAs: pool, Username: "baton", Password: "wrong"}
			},
			permanent: true,
		},
		{
			name: "recipient rejected 550", be: &backend{rcptErr: &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}},
			srv: serverOpts{tls: true},
			cfg: func(port int, pool *x509.CertPool) smtp.Config {
				return smtp.Config{Port: port, RootCAs: pool}
			},
			permanent: true,
		},
		{
			name: "mailbox busy 450", be: &backend{rcptErr: &gosmtp.SMTPError{Code: 450, EnhancedCode: gosmtp.EnhancedCode{4, 2, 1}, Message: "try later"}},
			srv: serverOpts{tls: true},
			cfg: func(port int, pool *x509.CertPool) smtp.Config {
				return smtp.Config{Port: port, RootCAs: pool}
			},
			permanent: false,
		},
		{
			name: "untrusted certificate", be: &backend{}, srv: serverOpts{tls: true},
			cfg: func(port int, _ *x509.CertPool) smtp.Config {
				return smtp.Config{Port: port}
			},
			permanent: true,
		},
		{
			name: "server without STARTTLS", be: &backend{}, srv: serverOpts{},
			cfg: func(port int, pool *x509.CertPool) smtp.Config {
				return smtp.Config{Port: port, RootCAs: pool, TLS: smtp.TLSStartTLS}
			},
			permanent: false,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			port, pool := startServer(t, c.be, c.srv)
			err := newSender(t, c.cfg(port, pool)).Send(context.Background(), message("baton-job-f"))
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			t.Logf("error: %v", err)
			if notify.IsPermanent(err) != c.permanent {
				t.Errorf("Send error %v: permanent = %v, want %v", err, notify.IsPermanent(err), c.permanent)
			}
			if n := len(c.be.envelopes()); n != 0 {
				t.Errorf("server accepted %d messages", n)
			}
		})
	}
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	err = newSender(t, smtp.Config{Port: port, TLS: smtp.TLSNone}).Send(context.Background(), message("k"))
	if err == nil || notify.IsPermanent(err) {
		t.Errorf("Send to a closed port: error %v, want a retryable error", err)
	}
}

func TestInvalidMessagesArePermanent(t *testing.T) {
	s := newSender(t, smtp.Config{Port: 1, TLS: smtp.TLSNone})
	for name, m := range map[string]notify.Message{
		"no recipients": {Channel: "email", Subject: "x", Body: "y"},
		"bad address":   {Channel: "email", To: []string{"not an address"}, Body: "y"},
	} {
		if err := s.Send(context.Background(), m); !notify.IsPermanent(err) {
			t.Errorf("%s: Send = %v, want a permanent error", name, err)
		}
	}
}

func TestNewChecksConfig(t *testing.T) {
	for name, cfg := range map[string]smtp.Config{
		"no host":  {From: "a@example.com"},
		"bad from": {Host: "127.0.0.1", From: "nope"},
		"bad tls":  {Host: "127.0.0.1", From: "a@example.com", TLS: "ssl3"},
		"bad port": {Host: "127.0.0.1", From: "a@example.com", Port: 70000},
	} {
		if _, err := smtp.New(cfg); err == nil {
			t.Errorf("%s: New succeeded, want an error", name)
		}
	}
}

func TestMessageID(t *testing.T) {
	if got := smtp.MessageID("baton-job-1", "example.com"); got != "baton-job-1@example.com" {
		t.Errorf("MessageID = %q", got)
	}
	a, b := smtp.MessageID("key with spaces <>", "example.com"), smtp.MessageID("key with spaces <>", "example.com")
	if a != b || strings.ContainsAny(a, " <>") || !strings.HasSuffix(a, "@example.com") {
		t.Errorf("MessageID(unsafe) = %q, %q; want a stable safe id", a, b)
	}
	if smtp.MessageID("k1 x", "d") == smtp.MessageID("k2 x", "d") {
		t.Error("different keys give the same Message-ID")
	}
}
