package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/batonhq/baton/internal/auth"
)

var roles = []auth.Role{auth.NoRole, auth.Viewer, auth.Operator, auth.Admin}

func TestRoles(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"viewer", "operator", "admin"} {
		r, err := auth.ParseRole(name)
		if err != nil || r.String() != name {
			t.Errorf("ParseRole(%q) = %v, %v", name, r, err)
		}
		b, err := json.Marshal(r)
		if err != nil || string(b) != `"`+name+`"` {
			t.Errorf("Marshal(%v) = %s, %v", r, b, err)
		}
		var back auth.Role
		if err := json.Unmarshal(b, &back); err != nil || back != r {
			t.Errorf("Unmarshal(%s) = %v, %v", b, back, err)
		}
	}
	for _, bad := range []string{"", "none", "Admin", "root"} {
		if _, err := auth.ParseRole(bad); err == nil {
			t.Errorf("ParseRole(%q) succeeded", bad)
		}
	}
	if err := json.Unmarshal([]byte(`"boss"`), new(auth.Role)); err == nil || err.Error() != `unknown role "boss": use viewer, operator or admin` {
		t.Errorf("Unmarshal(boss) = %v", err)
	}
	if _, err := json.Marshal(auth.NoRole); err == nil {
		t.Error("Marshal(NoRole) succeeded")
	}
	if !(auth.NoRole < auth.Viewer && auth.Viewer < auth.Operator && auth.Operator < auth.Admin) {
		t.Error("roles are not ordered viewer < operator < admin")
	}
}

// TestAuthorize: each role against each requirement.
func TestAuthorize(t *testing.T) {
	t.Parallel()
	for _, have := range roles {
		for _, need := range roles[1:] {
			ctx := auth.WithIdentity(context.Background(), auth.Identity{User: "u", Role: have})
			err := auth.Authorize(ctx, need)
			allowed := have != auth.NoRole && have >= need
			switch {
			case allowed && err != nil:
				t.Errorf("Authorize(%v, need %v) = %v, want nil", have, need, err)
			case !allowed && !errors.Is(err, auth.ErrForbidden):
				t.Errorf("Authorize(%v, need %v) = %v, want ErrForbidden", have, need, err)
			}
		}
	}
	ctx := auth.WithIdentity(context.Background(), auth.Identity{User: "ann", Role: auth.Viewer})
	if err := auth.Authorize(ctx, auth.Admin); err == nil || err.Error() != "forbidden: this needs the admin role, and ann is a viewer" {
		t.Errorf("Authorize message = %v", err)
	}
	if err := auth.Authorize(context.Background(), auth.Viewer); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("Authorize without identity = %v, want ErrUnauthenticated", err)
	}
}

func TestIdentityContext(t *testing.T) {
	t.Parallel()
	if _, ok := auth.IdentityFrom(context.Background()); ok {
		t.Error("IdentityFrom(empty context) found an identity")
	}
	want := auth.Identity{User: "ann", Groups: []string{"managers"}, Role: auth.Viewer}
	got, ok := auth.IdentityFrom(auth.WithIdentity(context.Background(), want))
	if !ok || got.User != "ann" || !got.InGroup("managers") || got.InGroup("clerks") || got.Role != auth.Viewer {
		t.Errorf("IdentityFrom = %+v, %v", got, ok)
	}
}

func TestCanWorkOnTask(t *testing.T) {
	t.Parallel()
	var (
		ann     = auth.Identity{User: "ann", Groups: []string{"managers"}, Role: auth.Viewer}
		clerk   = auth.Identity{User: "clerk", Groups: []string{"clerks"}, Role: auth.Viewer}
		manager = auth.Identity{User: "manager", Groups: []string{"managers"}, Role: auth.Operator}
		admin   = auth.Identity{User: "admin", Role: auth.Admin}
		noRole  = auth.Identity{User: "ann", Groups: []string{"managers"}}
		noName  = auth.Identity{Groups: []string{"managers"}, Role: auth.Operator}
	)
	tests := []struct {
		name      string
		id        auth.Identity
		assignee  string
		users     []string
		groups    []string
		canWorkOn bool
	}{
		{"assignee", ann, "ann", nil, nil, true},
		{"assigned to another", ann, "bob", []string{"ann"}, []string{"managers"}, false},
		{"assigned, operator is not enough", manager, "bob", nil, nil, false},
		{"candidate user", clerk, "", []string{"ann", "clerk"}, nil, true},
		{"candidate group", ann, "", nil, []string{"finance", "managers"}, true},
		{"not a candidate", clerk, "", []string{"ann"}, []string{"managers"}, false},
		{"no candidates at all", manager, "", nil, nil, false},
		{"admin assigned to another", admin, "bob", nil, nil, true},
		{"admin not a candidate", admin, "", []string{"ann"}, []string{"managers"}, true},
		{"admin no candidates", admin, "", nil, nil, true},
		{"no role", noRole, "", nil, []string{"managers"}, false},
		{"no user name", noName, "", []string{""}, []string{"managers"}, false},
		{"group names are exact", auth.Identity{User: "x", Groups: []string{"Managers"}, Role: auth.Viewer}, "", nil, []string{"managers"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := auth.CanWorkOnTask(tt.id, tt.assignee, tt.users, tt.groups); got != tt.canWorkOn {
				t.Errorf("CanWorkOnTask(%+v, %q, %v, %v) = %v, want %v", tt.id, tt.assignee, tt.users, tt.groups, got, tt.canWorkOn)
			}
		})
	}
}

// TestChain: a rejection passes the token on; any other error stops.
func TestChain(t *testing.T) {
	t.Parallel()
	first, firstTokens := auth.Dev()
	second, secondTokens := auth.Dev()
	ctx := context.Background()
	v := auth.Chain(first, second)
	for _, tok := range []string{firstTokens[0].Token, secondTokens[1].Token} {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Errorf("Chain.Verify(known token) = %v", err)
		}
	}
	if _, err := v.Verify(ctx, "nope"); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Chain.Verify(unknown) = %v, want ErrInvalidToken", err)
	}
	down := &auth.Tokens{Store: fakeStore{err: errors.New("database is down")}}
	if _, err := auth.Chain(down, second).Verify(ctx, secondTokens[0].Token); err == nil || errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Chain with a failing store = %v, want the store's error", err)
	}
	if _, err := auth.Chain().Verify(ctx, "x"); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("empty Chain = %v, want ErrInvalidToken", err)
	}
}

func TestJWTVerifier(t *testing.T) {
	t.Parallel()
	_, err := (&auth.JWTVerifier{Issuer: "https://login.example.com"}).Verify(context.Background(), "eyJ.x.y")
	if !errors.Is(err, auth.ErrNotConfigured) || errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("Verify = %v, want ErrNotConfigured", err)
	}
	if want := `OIDC not configured in this build (issuer "https://login.example.com"): an OIDC issuer needs an audience (the API's client id)`; err.Error() != want {
		t.Errorf("Verify = %q, want %q", err, want)
	}
}
