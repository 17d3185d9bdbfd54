// Package auth says who is calling and what they may do: bearer tokens
// mapped to a user, groups and a role, the identity carried in the request
// context, role checks, and the rule for who may work on a user task.
//
// A Verifier turns a presented token into an Identity. Tokens is the one
// Baton ships: SHA-256 hashes of tokens from a file, NewTokens or Dev, and
// optionally a TokenStore (the database) for tokens issued at run time; a
// token is never held in clear. JWTVerifier is the seam for OIDC.
//
// Roles are ordered: Viewer < Operator < Admin. Roles govern the API
// (reading, operating instances, deploying); who may complete a task is
// decided by the task itself (CanWorkOnTask), whatever the role.
package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Role is what an identity may do. The zero value is no access.
type Role int

// Roles, in order: each may do what the ones before it may.
const (
	// NoRole may do nothing; no verifier returns it.
	NoRole Role = iota
	// Viewer reads definitions, instances and tasks, and works on the
	// tasks it is a candidate for.
	Viewer
	// Operator also starts, cancels and recovers instances and resolves
	// incidents.
	Operator
	// Admin also deploys definitions, manages tokens, and may work on
	// any task.
	Admin
)

var roleNames = []string{NoRole: "none", Viewer: "viewer", Operator: "operator", Admin: "admin"}

func (r Role) String() string {
	if r < 0 || int(r) >= len(roleNames) {
		return fmt.Sprintf("Role(%d)", int(r))
	}
	return roleNames[r]
}

// ParseRole reads "viewer", "operator" or "admin".
func ParseRole(s string) (Role, error) {
	for r, name := range roleNames {
		if Role(r) != NoRole && s == name {
			return Role(r), nil
		}
	}
	return NoRole, fmt.Errorf("unknown role %q: use viewer, operator or admin", s)
}

// AtLeast reports whether r may do what need allows. NoRole may do
// nothing, even when nothing is needed.
func (r Role) AtLeast(need Role) bool { return r > NoRole && r >= need }

// MarshalText writes the role's name.
func (r Role) MarshalText() ([]byte, error) {
	if r <= NoRole || int(r) >= len(roleNames) {
		return nil, fmt.Errorf("auth: cannot write %v", r)
	}
	return []byte(r.String()), nil
}

// UnmarshalText reads a role's name.
func (r *Role) UnmarshalText(b []byte) error {
	role, err := ParseRole(string(b))
	if err != nil {
		return err
	}
	*r = role
	return nil
}

// Identity is who is calling.
type Identity struct {
	User   string   `json:"user"`
	Groups []string `json:"groups,omitempty"`
	Role   Role     `json:"role"`
}

// InGroup reports whether the identity is in group g.
func (id Identity) InGroup(g string) bool { return slices.Contains(id.Groups, g) }

func (id Identity) clone() Identity {
	id.Groups = slices.Clone(id.Groups)
	return id
}

type ctxKey struct{}

// WithIdentity returns a context carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// IdentityFrom returns the identity in ctx, if there is one.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(Identity)
	return id, ok
}

// Errors, each mapped to one HTTP status at the edge.
var (
	// ErrUnauthenticated: no token was presented (401).
	ErrUnauthenticated = errors.New("not authenticated")
	// ErrInvalidToken: the token is unknown, malformed or expired (401).
	// A Verifier returns an error wrapping it for any token it rejects.
	ErrInvalidToken = errors.New("invalid token")
	// ErrForbidden: the identity's role is too low (403).
	ErrForbidden = errors.New("forbidden")
	// ErrNotConfigured: the verifier cannot work in this build (500).
	ErrNotConfigured = errors.New("OIDC not configured in this build")
)

// Verifier turns a presented bearer token into an identity. It returns an
// error wrapping ErrInvalidToken for a token it rejects; any other error
// means it could not decide (a store is down). Errors never contain the
// token.
type Verifier interface {
	Verify(ctx context.Context, token string) (Identity, error)
}

// Chain tries verifiers in order: the first that accepts the token wins;
// a rejection (ErrInvalidToken) passes the token to the next; any other
// error stops the chain. With all rejecting, the token is invalid.
func Chain(vs ...Verifier) Verifier { return chain(vs) }

type chain []Verifier

func (c chain) Verify(ctx context.Context, token string) (Identity, error) {
	err := error(ErrInvalidToken)
	for _, v := range c {
		var id Identity
		id, err = v.Verify(ctx, token)
		if err == nil || !errors.Is(err, ErrInvalidToken) {
			return id, err
		}
	}
	return Identity{}, err
}

// Authorize checks that the identity in ctx has at least role need. It
// returns an error wrapping ErrUnauthenticated when there is no identity,
// ErrForbidden when the role is too low.
func Authorize(ctx context.Context, need Role) error {
	id, ok := IdentityFrom(ctx)
	if !ok {
		return ErrUnauthenticated
	}
	if !id.Role.AtLeast(need) {
		return fmt.Errorf("%w: this needs the %s role, and %s is %s", ErrForbidden, need, id.User, article(id.Role))
	}
	return nil
}

func article(r Role) string {
	switch r {
	case NoRole:
		return "without a role"
	case Admin, Operator:
		return "an " + r.String()
	}
	return "a " + r.String()
}

// CanWorkOnTask reports whether id may claim, complete or otherwise work
// on a user task: an admin always; otherwise the assignee when the task is
// assigned, and when it is not, a candidate user or a member of a
// candidate group. A task with no assignee and no candidates can be worked
// only by an admin.
func CanWorkOnTask(id Identity, assignee string, candidateUsers, candidateGroups []string) bool {
	if id.Role == Admin {
		return true
	}
	if id.User == "" || !id.Role.AtLeast(Viewer) {
		return false
	}
	if assignee != "" {
		return id.User == assignee
	}
	if slices.Contains(candidateUsers, id.User) {
		return true
	}
	for _, g := range candidateGroups {
		if id.InGroup(g) {
			return true
		}
	}
	return false
}
