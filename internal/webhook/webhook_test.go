package webhook

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/model"
)

var secret = []byte("it's a secret to everybody")

func TestVerifyHMAC(t *testing.T) {
	body := []byte(`{"zen":"Keep it logically awesome."}`)
	now := time.Unix(1_700_000_000, 0)
	// GitHub's documented example: secret "It's a Secret to Everybody",
	// payload "Hello, World!".
	gh := &model.WebhookAuth{Kind: "hmac", Secret: "gh", Header: "X-Hub-Signature-256", Prefix: "sha256="}
	h := http.Header{}
	h.Set("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
	if err := Verify(gh, []byte("It's a Secret to Everybody"), h, []byte("Hello, World!"), now); err != nil {
		t.Errorf("GitHub's example signature: %v", err)
	}
	for _, a := range []*model.WebhookAuth{
		{Kind: "hmac", Secret: "s"},
		{Kind: "hmac", Secret: "s", Algorithm: "sha1", Prefix: "sha1="},
		{Kind: "hmac", Secret: "s", Algorithm: "sha512", Encoding: "base64", Header: "X-Sig"},
		{Kind: "hmac", Secret: "s", TimestampHeader: "X-Ts", Tolerance: "PT1M"},
	} {
		ts := strconv.FormatInt(now.Unix(), 10)
		h := http.Header{}
		h.Set(a.HeaderName(), Sign(a, secret, ts, body))
		if a.TimestampHeader != "" {
			h.Set(a.TimestampHeader, ts)
		}
		if err := Verify(a, secret, h, body, now); err != nil {
			t.Errorf("%+v: a good signature: %v", a, err)
		}
		refused := map[string]func() (http.Header, []byte, []byte, time.Time){
			"other body": func() (http.Header, []byte, []byte, time.Time) { return h, []byte(`{"zen":"x"}`), secret, now },
			"other secret": func() (http.Header, []byte, []byte, time.Time) {
				return h, body, []byte("another secret, long enough"), now
			},
			"no header": func() (http.Header, []byte, []byte, time.Time) { return http.Header{}, body, secret, now },
			"header twice": func() (http.Header, []byte, []byte, time.Time) {
				c := h.Clone()
				c.Add(a.HeaderName(), h.Get(a.HeaderName()))
				return c, body, secret, now
			},
			"not encoded": func() (http.Header, []byte, []byte, time.Time) {
				c := h.Clone()
				c.Set(a.HeaderName(), a.Prefix+"zz!")
				return c, body, secret, now
			},
			"no secret": func() (http.Header, []byte, []byte, time.Time) { return h, body, nil, now },
		}
		if a.Prefix != "" {
			refused["no prefix"] = func() (http.Header, []byte, []byte, time.Time) {
				c := h.Clone()
				c.Set(a.HeaderName(), strings.TrimPrefix(h.Get(a.HeaderName()), a.Prefix))
				return c, body, secret, now
			}
		}
		if a.TimestampHeader != "" {
			refused["too late"] = func() (http.Header, []byte, []byte, time.Time) { return h, body, secret, now.Add(61 * time.Second) }
			refused["too early"] = func() (http.Header, []byte, []byte, time.Time) { return h, body, secret, now.Add(-61 * time.Second) }
			refused["timestamp changed"] = func() (http.Header, []byte, []byte, time.Time) {
				c := h.Clone()
				c.Set(a.TimestampHeader, strconv.FormatInt(now.Unix()+1, 10))
				return c, body, secret, now
			}
			refused["timestamp not a number"] = func() (http.Header, []byte, []byte, time.Time) {
				c := h.Clone()
				c.Set(a.TimestampHeader, "yesterday")
				return c, body, secret, now
			}
		}
		for name, f := range refused {
			hh, b, sec, at := f()
			if err := Verify(a, sec, hh, b, at); !errors.Is(err, ErrSignature) {
				t.Errorf("%+v, %s: err = %v, want ErrSignature", a, name, err)
			}
		}
	}
}

func TestVerifyToken(t *testing.T) {
	a := &model.WebhookAuth{Kind: "token", Secret: "t", Prefix: "Bearer "}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+string(secret))
	if err := Verify(a, secret, h, nil, time.Now()); err != nil {
		t.Errorf("the right token: %v", err)
	}
	for _, v := range []string{string(secret), "Bearer " + string(secret) + "x", "Bearer " + string(secret[:5]), "Bearer "} {
		h.Set("Authorization", v)
		if err := Verify(a, secret, h, nil, time.Now()); !errors.Is(err, ErrSignature) {
			t.Errorf("Authorization %q: err = %v, want ErrSignature", v, err)
		}
	}
}

func TestEnv(t *testing.T) {
	a := &model.WebhookAuth{Kind: "token", Secret: "t", Header: "X-Token"}
	h := http.Header{}
	h.Set("X-Token", "the token")
	h.Set("Authorization", "Basic x")
	h.Set("Cookie", "c=1")
	h.Set("X-GitHub-Delivery", "d-1")
	h.Set("Content-Type", "application/json")
	env := Env(a, "gh/push", h, url.Values{"a": {"1", "2"}}, []byte(`{"id": 7}`))
	headers := env["headers"].(map[string]any)
	if headers["x-github-delivery"] != "d-1" || headers["content-type"] != "application/json" {
		t.Errorf("headers = %v, want lower-case names with their values", headers)
	}
	for _, k := range []string{"x-token", "authorization", "cookie"} {
		if _, ok := headers[k]; ok {
			t.Errorf("headers hold %s: a secret would reach expressions", k)
		}
	}
	if body, _ := env["body"].(map[string]any); body["id"] != float64(7) {
		t.Errorf("body = %v, want the parsed JSON", env["body"])
	}
	if q := env["query"].(map[string]any); q["a"] != "1" || env["path"] != "gh/push" {
		t.Errorf("query = %v, path = %v", q, env["path"])
	}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	if form, _ := Env(a, "p", h, nil, []byte("text=hi&user=ann"))["body"].(map[string]any); form["text"] != "hi" || form["user"] != "ann" {
		t.Errorf("a form body = %v, want its fields", form)
	}
	h.Set("Content-Type", "text/plain")
	if b := Env(a, "p", h, nil, []byte("plain"))["body"]; b != "plain" {
		t.Errorf("a text body = %v", b)
	}
}

func TestReadSecrets(t *testing.T) {
	dir := t.TempDir()
	write := func(doc string) string {
		p := filepath.Join(dir, "s.json")
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := map[string]string{"GH": "0123456789abcdef-gh", "SHORT": "abc"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	got, err := ReadSecrets(write(`{"secrets": [{"name": "github", "env": "GH"}]}`), lookup)
	if err != nil || string(got["github"]) != env["GH"] {
		t.Fatalf("ReadSecrets = %v, %v", got, err)
	}
	if got, err := ReadSecrets("", lookup); got != nil || err != nil {
		t.Errorf("no file: %v, %v", got, err)
	}
	for doc, want := range map[string]string{
		`{"secrets": [{"name": "github", "value": "in the file"}]}`:             `secrets[0] ("github"): value: the file never holds a secret`,
		`{"secrets": [{"name": "github", "env": "UNSET"}]}`:                     "UNSET is not set",
		`{"secrets": [{"name": "github", "env": "SHORT"}]}`:                     "has 3 bytes; at least 16",
		`{"secrets": [{"name": "git hub", "env": "GH"}]}`:                       "not a secret name",
		`{"secrets": [{"name": "g", "env": "GH"}, {"name": "g", "env": "GH"}]}`: `secrets[1] ("g"): name: "g" is configured twice`,
		`{"secrets": [{"name": "g"}]}`:                                          "env: no environment variable",
		`{"secrets": [{"name": "g", "env": "GH", "token": "x"}]}`:               "unknown field",
	} {
		if _, err := ReadSecrets(write(doc), lookup); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", doc, err, want)
		}
	}
}
