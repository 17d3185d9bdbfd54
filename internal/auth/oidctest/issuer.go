// Package oidctest is a fake OpenID Connect issuer for tests: a discovery
// document, a JWKS with an RSA key made at start, and tokens it signs on
// demand. It is imported by _test.go files only.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Issuer is a running fake issuer.
type Issuer struct {
	URL string
	// Key signs tokens; its public half is in the JWKS under KeyID.
	Key   *rsa.PrivateKey
	KeyID string
	// Discoveries and KeyFetches count requests to the discovery
	// document and the JWKS.
	Discoveries, KeyFetches atomic.Int32
	srv                     *httptest.Server
}

// New starts an issuer that stops with the test.
func New(t testing.TB) *Issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss := &Issuer{Key: key, KeyID: "k1"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		iss.Discoveries.Add(1)
		writeJSON(w, map[string]any{
			"issuer": iss.URL, "jwks_uri": iss.URL + "/jwks",
			"authorization_endpoint": iss.URL + "/authorize", "token_endpoint": iss.URL + "/token",
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		iss.KeyFetches.Add(1)
		writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &iss.Key.PublicKey, KeyID: iss.KeyID, Algorithm: "RS256", Use: "sig"}}})
	})
	iss.srv = httptest.NewServer(mux)
	t.Cleanup(iss.srv.Close)
	iss.URL = iss.srv.URL
	return iss
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Rotate replaces the signing key with a new one under a new key id.
func (iss *Issuer) Rotate(t testing.TB, kid string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss.Key, iss.KeyID = key, kid
}

// Close stops the issuer (a provider that went down).
func (iss *Issuer) Close() { iss.srv.Close() }

// Token signs claims with key (nil: the issuer's) under kid, adding iss,
// iat and exp (an hour from now) unless claims set them.
func (iss *Issuer) Token(t testing.TB, claims map[string]any) string {
	t.Helper()
	return iss.TokenWith(t, iss.Key, iss.KeyID, claims)
}

// TokenWith is Token with another key.
func (iss *Issuer) TokenWith(t testing.TB, key *rsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]any{"iss": iss.URL, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range claims {
		all[k] = v
	}
	tok, err := jwt.Signed(sig).Claims(all).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
