// Package oidctest is a fake OpenID Connect issuer for tests: a discovery
// document, a JWKS with an RSA key made at start, and tokens it signs on
// demand. It is imported by _test.go files only.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
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
	// User holds the claims of the person who signs in at /authorize
	// (no consent screen: the browser is sent straight back).
	User map[string]any
	// ClientID is the only client /authorize and /token serve.
	ClientID string
	// Exchanges counts codes exchanged with a matching PKCE verifier.
	Exchanges atomic.Int32
	srv       *httptest.Server
	mu        sync.Mutex
	codes     map[string]grant
}

// grant is what an authorization code stands for.
type grant struct {
	challenge, redirect, nonce string
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
	mux.HandleFunc("GET /authorize", iss.authorize)
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) { iss.token(t, w, r) })
	iss.codes = map[string]grant{}
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

// authorize is the authorization endpoint of the code flow with PKCE: it
// checks the request as a provider would and sends the browser back with
// a code at once.
func (iss *Issuer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("response_type") != "code":
		http.Error(w, "response_type must be code", http.StatusBadRequest)
	case q.Get("client_id") != iss.ClientID:
		http.Error(w, "unknown client_id "+q.Get("client_id"), http.StatusBadRequest)
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		http.Error(w, "PKCE with S256 is required", http.StatusBadRequest)
	case q.Get("redirect_uri") == "" || q.Get("state") == "":
		http.Error(w, "redirect_uri and state are required", http.StatusBadRequest)
	default:
		code := rand.Text()
		iss.mu.Lock()
		iss.codes[code] = grant{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri"), nonce: q.Get("nonce")}
		iss.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+q.Get("state"), http.StatusFound)
	}
}

// token exchanges a code once, checking the PKCE verifier against the
// challenge, for an ID token and an access token for the client.
func (iss *Issuer) token(t testing.TB, w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	iss.mu.Lock()
	g, ok := iss.codes[r.PostForm.Get("code")]
	delete(iss.codes, r.PostForm.Get("code"))
	iss.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	client := r.PostForm.Get("client_id")
	if u, _, ok := r.BasicAuth(); ok {
		client = u
	}
	switch {
	case r.PostForm.Get("grant_type") != "authorization_code" || !ok:
		w.WriteHeader(http.StatusBadRequest)
		writeJSON(w, map[string]string{"error": "invalid_grant"})
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		w.WriteHeader(http.StatusBadRequest)
		writeJSON(w, map[string]string{"error": "invalid_grant", "error_description": "PKCE verifier does not match"})
		return
	case client != iss.ClientID || r.PostForm.Get("redirect_uri") != g.redirect:
		w.WriteHeader(http.StatusBadRequest)
		writeJSON(w, map[string]string{"error": "invalid_client"})
		return
	}
	iss.Exchanges.Add(1)
	claims := map[string]any{"aud": iss.ClientID}
	for k, v := range iss.User {
		claims[k] = v
	}
	access := iss.Token(t, claims)
	claims["nonce"] = g.nonce
	writeJSON(w, map[string]any{"access_token": access, "id_token": iss.Token(t, claims), "token_type": "Bearer", "expires_in": 3600})
}
