package auth

import (
	"context"
	"fmt"
)

// JWTVerifier is the seam for OIDC: it would verify a JWT access token
// signed by Issuer's keys (JWKS), check its audience and expiry, and map
// its claims to an Identity (sub or preferred_username → User, GroupsClaim
// → Groups, RoleClaim → Role). This build has no JWKS client: Verify
// always fails with ErrNotConfigured. docs/auth.md says how a real one
// plugs in.
type JWTVerifier struct {
	Issuer      string // https://login.example.com/realms/baton
	Audience    string // the API's client id, e.g. "baton"
	GroupsClaim string // "groups" when empty
	RoleClaim   string // "baton_role" when empty: viewer, operator or admin
}

var _ Verifier = JWTVerifier{}

// Verify fails: OIDC is not configured in this build.
func (j JWTVerifier) Verify(context.Context, string) (Identity, error) {
	return Identity{}, fmt.Errorf("%w (issuer %q): use bearer tokens, or build Baton with a JWKS verifier", ErrNotConfigured, j.Issuer)
}
