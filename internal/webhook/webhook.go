// Package webhook verifies and reads the requests of inbound webhooks
// (docs/webhooks.md): the HMAC signature or token a definition's
// event.webhook.auth asks for, checked against a secret the server's
// administrator configured by name, and the values its expressions see.
// The HTTP endpoint itself is in internal/rest (webhooks.go).
package webhook

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/model"
)

// ErrSignature is every verification failure. The caller is told no more
// than this; the wrapped detail is for the server's log.
var ErrSignature = errors.New("invalid signature")

// Verify checks a request's signature or token: a for the webhook, secret
// its configured value, h the request's headers, body its raw body, now
// the server's time (for a timestamp header). The comparison takes the
// same time wherever the values differ.
func Verify(a *model.WebhookAuth, secret []byte, h http.Header, body []byte, now time.Time) error {
	if len(secret) == 0 {
		return fmt.Errorf("%w: no secret", ErrSignature)
	}
	got := h.Values(a.HeaderName())
	if len(got) != 1 {
		return fmt.Errorf("%w: header %s sent %d times", ErrSignature, a.HeaderName(), len(got))
	}
	v, ok := strings.CutPrefix(got[0], a.Prefix)
	if !ok {
		return fmt.Errorf("%w: header %s lacks prefix %q", ErrSignature, a.HeaderName(), a.Prefix)
	}
	if a.Kind == model.WebhookToken {
		// Compare hashes so that the time taken says nothing of the
		// token's length either.
		x, y := sha256.Sum256([]byte(v)), sha256.Sum256(secret)
		if subtle.ConstantTimeCompare(x[:], y[:]) != 1 {
			return fmt.Errorf("%w: token differs", ErrSignature)
		}
		return nil
	}
	want, err := sign(a, secret, h, body, now)
	if err != nil {
		return err
	}
	sent, err := decode(a.Encoding, strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSignature, err)
	}
	if !hmac.Equal(sent, want) {
		return fmt.Errorf("%w: signature differs", ErrSignature)
	}
	return nil
}

// Sign returns the header value a sender writes for body: the prefix and
// the encoded HMAC, over "{timestamp}.{body}" when the webhook has a
// timestamp header (ts is then its value). For tests and senders.
func Sign(a *model.WebhookAuth, secret []byte, ts string, body []byte) string {
	mac := hmac.New(hasher(a.Algorithm), secret)
	if a.TimestampHeader != "" {
		mac.Write([]byte(ts + "."))
	}
	mac.Write(body)
	sum := mac.Sum(nil)
	if a.Encoding == "base64" {
		return a.Prefix + base64.StdEncoding.EncodeToString(sum)
	}
	return a.Prefix + hex.EncodeToString(sum)
}

// sign computes the expected HMAC, checking the timestamp first.
func sign(a *model.WebhookAuth, secret []byte, h http.Header, body []byte, now time.Time) ([]byte, error) {
	mac := hmac.New(hasher(a.Algorithm), secret)
	if a.TimestampHeader != "" {
		ts := h.Get(a.TimestampHeader)
		sec, err := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
		if err != nil || sec < 0 || sec > math.MaxInt64/int64(time.Second) {
			return nil, fmt.Errorf("%w: timestamp %q is not Unix seconds", ErrSignature, ts)
		}
		tol, err := tolerance(a)
		if err != nil {
			return nil, err
		}
		if d := now.Sub(time.Unix(sec, 0)); d > tol || d < -tol {
			return nil, fmt.Errorf("%w: timestamp is %s away from the server's clock (tolerance %s)", ErrSignature, d.Round(time.Second), tol)
		}
		mac.Write([]byte(strings.TrimSpace(ts) + "."))
	}
	mac.Write(body)
	return mac.Sum(nil), nil
}

func tolerance(a *model.WebhookAuth) (time.Duration, error) {
	s := a.Tolerance
	if s == "" {
		s = model.DefaultWebhookTolerance
	}
	d, err := model.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%w: tolerance %q is not a positive duration", ErrSignature, s)
	}
	return d, nil
}

func hasher(alg string) func() hash.Hash {
	switch alg {
	case "sha1":
		return sha1.New
	case "sha512":
		return sha512.New
	}
	return sha256.New
}

func decode(enc, v string) ([]byte, error) {
	if enc == "base64" {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return base64.RawStdEncoding.DecodeString(v)
		}
		return b, nil
	}
	return hex.DecodeString(strings.ToLower(v))
}

// Env is what a webhook's expressions see: body (parsed when it is JSON or
// a form, else the text), headers (lower-case names, the first value of
// each), query (the first value of each parameter) and path. The header
// that carries a token, and Authorization and Cookie, are left out: a
// secret never reaches an expression, and so never a variable.
func Env(a *model.WebhookAuth, path string, h http.Header, query url.Values, body []byte) map[string]any {
	headers := map[string]any{}
	for k, v := range h {
		name := strings.ToLower(k)
		if len(v) == 0 || name == "authorization" || name == "cookie" || a.Kind == model.WebhookToken && strings.EqualFold(k, a.HeaderName()) {
			continue
		}
		headers[name] = v[0]
	}
	q := map[string]any{}
	for k, v := range query {
		if len(v) > 0 {
			q[k] = v[0]
		}
	}
	return map[string]any{"body": parseBody(h.Get("Content-Type"), body), "headers": headers, "query": q, "path": path}
}

func parseBody(contentType string, body []byte) any {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/x-www-form-urlencoded" {
		if vals, err := url.ParseQuery(string(body)); err == nil {
			form := map[string]any{}
			for k, v := range vals {
				if len(v) > 0 {
					form[k] = v[0]
				}
			}
			return form
		}
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return string(body)
	}
	return v
}
