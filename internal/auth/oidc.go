package auth

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// JWTVerifier verifies JWT bearer tokens issued by an OpenID Connect
// provider (Keycloak, Entra ID, Okta, Auth0...): the signature against
// the issuer's published keys (JWKS, found through its discovery document
// and refreshed when a token names an unknown key), the issuer, the
// audience and the expiry. Its claims become the Identity: UserClaim (or
// sub) the user, GroupsClaim the groups, RoleClaim the role.
//
// The issuer is discovered at the first token, not at start, so that a
// provider that is down when Baton starts delays only the calls that need
// it; until it answers those calls get a could-not-check error (503), not
// a rejection. Chain it after the static tokens (auth.Chain): a token that
// is no JWT is rejected at once and never reaches the network.
type JWTVerifier struct {
	Issuer   string // https://login.example.com/realms/baton
	Audience string // the API's client id, e.g. "baton"; required
	// UserClaim names the user ("preferred_username" when empty); a token
	// without it is named by its sub.
	UserClaim string
	// GroupsClaim is a claim holding a list of group names ("groups" when
	// empty). A dotted name reaches into objects: "realm_access.roles".
	GroupsClaim string
	// RoleClaim holds the role, "viewer", "operator" or "admin", or a list
	// in which the highest of those counts ("baton_role" when empty;
	// dotted names as above).
	RoleClaim string
	// DefaultRole is the role of a token whose RoleClaim names none
	// (NoRole when zero: such a caller is authenticated and may do
	// nothing).
	DefaultRole Role
	// Client fetches the discovery document and keys (default: a client
	// with a 10s timeout).
	Client *http.Client

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
}

var _ Verifier = (*JWTVerifier)(nil)

// Verify checks a JWT and maps its claims.
func (j *JWTVerifier) Verify(ctx context.Context, token string) (Identity, error) {
	if j.Issuer == "" || j.Audience == "" {
		return Identity{}, fmt.Errorf("%w (issuer %q): an OIDC issuer needs an audience (the API's client id)", ErrNotConfigured, j.Issuer)
	}
	if strings.Count(token, ".") != 2 {
		return Identity{}, fmt.Errorf("%w: not a JWT", ErrInvalidToken)
	}
	v, err := j.load(ctx)
	if err != nil {
		return Identity{}, err
	}
	tok, err := v.Verify(ctx, token)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("%w: claims: %v", ErrInvalidToken, err)
	}
	return j.identity(tok.Subject, claims)
}

// load discovers the issuer once it answers.
func (j *JWTVerifier) load(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.verifier != nil {
		return j.verifier, nil
	}
	client := j.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	// The provider keeps the client (not the deadline) for its key
	// fetches.
	dctx, cancel := context.WithTimeout(oidc.ClientContext(context.WithoutCancel(ctx), client), 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(dctx, j.Issuer)
	if err != nil {
		return nil, fmt.Errorf("OIDC issuer %s: discovery: %w", j.Issuer, err)
	}
	j.verifier = p.Verifier(&oidc.Config{ClientID: j.Audience})
	return j.verifier, nil
}

// identity maps verified claims to an Identity.
func (j *JWTVerifier) identity(sub string, claims map[string]any) (Identity, error) {
	id := Identity{User: sub, Role: j.DefaultRole}
	if u, ok := claim(claims, or(j.UserClaim, "preferred_username")).(string); ok && u != "" {
		id.User = u
	}
	if id.User == "" {
		return Identity{}, fmt.Errorf("%w: the token names no user (no %s, no sub)", ErrInvalidToken, or(j.UserClaim, "preferred_username"))
	}
	id.Groups = stringList(claim(claims, or(j.GroupsClaim, "groups")))
	best := NoRole
	for _, r := range stringList(claim(claims, or(j.RoleClaim, "baton_role"))) {
		if role, err := ParseRole(r); err == nil && role > best {
			best = role
		}
	}
	if best != NoRole {
		id.Role = best
	}
	return id, nil
}

// claim follows a dotted path through nested objects.
func claim(claims map[string]any, path string) any {
	var cur any = claims
	for part := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// stringList reads a claim that is a string or a list of strings.
func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		if v == "" {
			return nil
		}
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
