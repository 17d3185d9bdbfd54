package main

import (
	"fmt"
	"net"
	"net/url"
	"os"

	"github.com/batonhq/baton/internal/auth"
)

// oidcVerifier builds the JWT verifier from BATON_OIDC_* (docs/auth.md),
// or returns nil when BATON_OIDC_ISSUER is not set. The issuer must be
// https, but for a loopback address (a local test issuer).
func oidcVerifier() (*auth.JWTVerifier, error) {
	issuer := os.Getenv("BATON_OIDC_ISSUER")
	if issuer == "" {
		return nil, nil
	}
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("BATON_OIDC_ISSUER=%q: not an absolute URL", issuer)
	}
	if ip := net.ParseIP(u.Hostname()); u.Scheme != "https" && !(u.Scheme == "http" && (u.Hostname() == "localhost" || ip != nil && ip.IsLoopback())) {
		return nil, fmt.Errorf("BATON_OIDC_ISSUER=%q: the issuer must be https (http only on a loopback address)", issuer)
	}
	v := &auth.JWTVerifier{Issuer: issuer, Audience: os.Getenv("BATON_OIDC_AUDIENCE"), UserClaim: os.Getenv("BATON_OIDC_USER_CLAIM"),
		GroupsClaim: os.Getenv("BATON_OIDC_GROUPS_CLAIM"), RoleClaim: os.Getenv("BATON_OIDC_ROLE_CLAIM")}
	if v.Audience == "" {
		return nil, fmt.Errorf("BATON_OIDC_AUDIENCE: required with BATON_OIDC_ISSUER (the client id the API's tokens are issued for)")
	}
	if r := os.Getenv("BATON_OIDC_DEFAULT_ROLE"); r != "" {
		if v.DefaultRole, err = auth.ParseRole(r); err != nil {
			return nil, fmt.Errorf("BATON_OIDC_DEFAULT_ROLE: %v", err)
		}
	}
	return v, nil
}

// oidcLogin is the web UI's sign-in through the provider (nil without
// BATON_OIDC_ISSUER; oidcVerifier has checked the variables): client
// BATON_OIDC_CLIENT_ID (default the audience), BATON_OIDC_CLIENT_SECRET
// for a confidential client, BATON_OIDC_REDIRECT_URL when the callback
// address cannot be told from the request (behind a proxy).
func oidcLogin(api auth.Verifier) *auth.Login {
	issuer := os.Getenv("BATON_OIDC_ISSUER")
	if issuer == "" {
		return nil
	}
	return &auth.Login{Issuer: issuer, ClientID: envOr("BATON_OIDC_CLIENT_ID", os.Getenv("BATON_OIDC_AUDIENCE")),
		ClientSecret: os.Getenv("BATON_OIDC_CLIENT_SECRET"), RedirectURL: os.Getenv("BATON_OIDC_REDIRECT_URL"), API: api}
}
