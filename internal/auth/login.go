package auth

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Login signs web UI users in through the OIDC provider with the
// authorization code flow and PKCE (S256):
//
//	GET /auth/oidc           {"login": "/auth/oidc/login"}: SSO is on (the UI shows its button)
//	GET /auth/oidc/login     sends the browser to the provider (state, nonce and PKCE verifier in a short-lived cookie)
//	GET /auth/oidc/callback  checks state, exchanges the code with the verifier, verifies the ID token and its nonce,
//	                         and hands the UI a bearer token that API's verifier accepts: /#/login?sso=TOKEN
//
// The token handed over is the access token when API accepts it, else
// the ID token (whose audience is the client id): configure the client id
// as the API's audience, or have the provider put it in access tokens.
type Login struct {
	Issuer       string
	ClientID     string
	ClientSecret string // empty for a public client (PKCE only)
	// RedirectURL is this server's callback; empty: built from the
	// request's host (https unless the request came in plain http).
	RedirectURL string
	Scopes      []string // "openid profile email" when empty; openid is always asked
	API         Verifier // the API's verifier, to pick a token it accepts
	Client      *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
}

const loginCookie = "baton_oidc"

// Handler serves the three paths above.
func (l *Login) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /auth/oidc", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"login": "/auth/oidc/login"})
	})
	mux.HandleFunc("GET /auth/oidc/login", l.login)
	mux.HandleFunc("GET /auth/oidc/callback", l.callback)
	return mux
}

func (l *Login) ctx(r *http.Request) context.Context {
	client := l.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return oidc.ClientContext(r.Context(), client)
}

func (l *Login) config(r *http.Request) (*oauth2.Config, *oidc.Provider, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.provider == nil {
		p, err := oidc.NewProvider(l.ctx(r), l.Issuer)
		if err != nil {
			return nil, nil, fmt.Errorf("OIDC issuer %s: discovery: %w", l.Issuer, err)
		}
		l.provider = p
	}
	redirect := l.RedirectURL
	if redirect == "" {
		scheme := "https"
		if r.TLS == nil && !strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
			scheme = "http"
		}
		redirect = scheme + "://" + r.Host + "/auth/oidc/callback"
	}
	scopes := l.Scopes
	if len(scopes) == 0 {
		scopes = []string{"profile", "email"}
	}
	scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	return &oauth2.Config{ClientID: l.ClientID, ClientSecret: l.ClientSecret, Endpoint: l.provider.Endpoint(),
		RedirectURL: redirect, Scopes: scopes}, l.provider, nil
}

func (l *Login) login(w http.ResponseWriter, r *http.Request) {
	cfg, _, err := l.config(r)
	if err != nil {
		http.Error(w, "single sign-on is unavailable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	state, nonce, verifier := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
	next := r.URL.Query().Get("next")
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		next = "/inbox"
	}
	v := url.Values{"state": {state}, "nonce": {nonce}, "verifier": {verifier}, "next": {next}}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: v.Encode(), Path: "/auth/oidc", MaxAge: 600,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)), http.StatusFound)
}

func (l *Login) callback(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		http.Error(w, "sign-in failed: "+msg, status)
	}
	c, err := r.Cookie(loginCookie)
	if err != nil {
		fail(http.StatusBadRequest, "no sign-in in progress (the cookie expired or was refused); start again")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: "/auth/oidc", MaxAge: -1, HttpOnly: true})
	saved, err := url.ParseQuery(c.Value)
	q := r.URL.Query()
	if err != nil || saved.Get("state") == "" || q.Get("state") != saved.Get("state") {
		fail(http.StatusBadRequest, "state does not match")
		return
	}
	if e := q.Get("error"); e != "" {
		fail(http.StatusForbidden, "the identity provider answered "+e+": "+q.Get("error_description"))
		return
	}
	cfg, p, err := l.config(r)
	if err != nil {
		fail(http.StatusServiceUnavailable, err.Error())
		return
	}
	tok, err := cfg.Exchange(l.ctx(r), q.Get("code"), oauth2.VerifierOption(saved.Get("verifier")))
	if err != nil {
		fail(http.StatusBadGateway, "code exchange: "+err.Error())
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := p.Verifier(&oidc.Config{ClientID: l.ClientID}).Verify(r.Context(), raw)
	if err != nil || idt.Nonce != saved.Get("nonce") {
		fail(http.StatusForbidden, "the ID token is not valid for this sign-in")
		return
	}
	bearer := ""
	for _, cand := range []string{tok.AccessToken, raw} {
		if _, err := l.API.Verify(r.Context(), cand); err == nil {
			bearer = cand
			break
		}
	}
	if bearer == "" {
		fail(http.StatusForbidden, "the provider's tokens are not accepted by the API (check BATON_OIDC_AUDIENCE against the client id)")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/#/login?"+url.Values{"sso": {bearer}, "next": {saved.Get("next")}}.Encode(), http.StatusFound)
}
