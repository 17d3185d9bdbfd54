package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/auth"
	"github.com/batonhq/baton/internal/auth/oidctest"
)

// TestJWTVerifierAgainstFakeIssuer: tokens of a local OIDC issuer are
// verified against its JWKS (found through discovery) and mapped to
// identities by the configured claims; wrong audience, expiry, issuer or
// key are rejected as invalid tokens; a key rotation is picked up.
func TestJWTVerifierAgainstFakeIssuer(t *testing.T) {
	iss := oidctest.New(t)
	ctx := context.Background()
	v := &auth.JWTVerifier{Issuer: iss.URL, Audience: "baton"}

	id, err := v.Verify(ctx, iss.Token(t, map[string]any{"sub": "u-1", "aud": "baton", "preferred_username": "ann",
		"groups": []string{"managers", "clerks"}, "baton_role": "operator"}))
	if err != nil {
		t.Fatal(err)
	}
	if id.User != "ann" || id.Role != auth.Operator || !slices.Equal(id.Groups, []string{"managers", "clerks"}) {
		t.Errorf("identity %+v", id)
	}

	// Keycloak's shape: roles in realm_access.roles, the highest known one
	// counts; no username claim: the subject names the user.
	kc := &auth.JWTVerifier{Issuer: iss.URL, Audience: "baton", RoleClaim: "realm_access.roles", GroupsClaim: "realm_access.roles"}
	id, err = kc.Verify(ctx, iss.Token(t, map[string]any{"sub": "u-2", "aud": []string{"account", "baton"},
		"realm_access": map[string]any{"roles": []string{"offline_access", "viewer", "admin"}}}))
	if err != nil {
		t.Fatal(err)
	}
	if id.User != "u-2" || id.Role != auth.Admin {
		t.Errorf("keycloak identity %+v", id)
	}
	// No role claim: the default role.
	def := &auth.JWTVerifier{Issuer: iss.URL, Audience: "baton", DefaultRole: auth.Viewer}
	if id, err := def.Verify(ctx, iss.Token(t, map[string]any{"sub": "u-3", "aud": "baton"})); err != nil || id.Role != auth.Viewer {
		t.Errorf("default role: %+v, %v", id, err)
	}

	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{
		"wrong audience": iss.Token(t, map[string]any{"sub": "u", "aud": "other"}),
		"expired":        iss.Token(t, map[string]any{"sub": "u", "aud": "baton", "exp": time.Now().Add(-time.Minute).Unix()}),
		"wrong issuer":   iss.Token(t, map[string]any{"sub": "u", "aud": "baton", "iss": "https://evil.example"}),
		"foreign key":    iss.TokenWith(t, other, iss.KeyID, map[string]any{"sub": "u", "aud": "baton"}),
		"garbage":        "a.b.c",
		"static token":   "baton_notajwt",
	} {
		if _, err := v.Verify(ctx, tok); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("%s: err %v, want ErrInvalidToken", name, err)
		} else if strings.Contains(err.Error(), tok) {
			t.Errorf("%s: the error shows the token", name)
		}
	}

	fetches := iss.KeyFetches.Load()
	iss.Rotate(t, "k2")
	if _, err := v.Verify(ctx, iss.Token(t, map[string]any{"sub": "u", "aud": "baton", "baton_role": "viewer"})); err != nil {
		t.Errorf("after a key rotation: %v", err)
	}
	if iss.KeyFetches.Load() == fetches {
		t.Errorf("the rotated key was accepted without fetching the JWKS again")
	}
	if n := iss.Discoveries.Load(); n != 3 {
		t.Errorf("discovery fetched %d times by three verifiers, want once each", n)
	}
}

// TestJWTVerifierIssuerDown: a provider that does not answer is no
// rejection (the API answers 503, not 401), and a static token is
// rejected without touching the network, so auth.Chain passes it on.
func TestJWTVerifierIssuerDown(t *testing.T) {
	iss := oidctest.New(t)
	url := iss.URL
	tok := iss.Token(t, map[string]any{"sub": "u", "aud": "baton"})
	iss.Close()
	v := &auth.JWTVerifier{Issuer: url, Audience: "baton"}
	_, err := v.Verify(context.Background(), tok)
	if err == nil || errors.Is(err, auth.ErrInvalidToken) || !strings.Contains(err.Error(), "discovery") {
		t.Errorf("issuer down: %v, want a could-not-check error naming discovery", err)
	}
	static, err := auth.NewTokens(auth.TokenEntry{User: "robot", Role: auth.Operator, TokenSHA256: auth.HashToken("baton_robot")})
	if err != nil {
		t.Fatal(err)
	}
	id, err := auth.Chain(static, v).Verify(context.Background(), "baton_robot")
	if err != nil || id.User != "robot" {
		t.Errorf("static token through the chain: %+v, %v", id, err)
	}
}
