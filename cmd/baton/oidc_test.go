package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/auth/oidctest"
)

// TestServeOIDCBearerTokens: with BATON_OIDC_ISSUER and _AUDIENCE set,
// baton serve accepts the issuer's JWTs on the API, roles and groups
// from their claims (a manager's group sees and completes the review
// task), refuses a token for another audience (401) and a viewer's start
// (403), and still accepts static tokens.
func TestServeOIDCBearerTokens(t *testing.T) {
	iss := oidctest.New(t)
	t.Setenv("BATON_OIDC_ISSUER", iss.URL)
	t.Setenv("BATON_OIDC_AUDIENCE", "baton")
	t.Setenv("BATON_OIDC_ROLE_CLAIM", "realm_access.roles")
	srv := startServe(t, "--deploy", examples)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	token := func(user, role string, aud any) string {
		return iss.Token(t, map[string]any{"sub": "id-" + user, "preferred_username": user, "aud": aud,
			"groups": []string{"managers"}, "realm_access": map[string]any{"roles": []string{"offline_access", role}}})
	}
	ann := baton.NewClient(srv.url, baton.WithToken(token("ann", "operator", "baton")))
	data, err := os.ReadFile(filepath.Join(examples, "vars", "loan-approval.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vars map[string]any
	if err := json.Unmarshal(data, &vars); err != nil {
		t.Fatal(err)
	}
	inst, err := ann.Start(ctx, baton.StartRequest{DefinitionID: "loan-approval", Variables: vars})
	if err != nil {
		t.Fatalf("start with an operator's JWT: %v", err)
	}
	tasks, err := ann.Tasks(ctx, baton.TaskFilter{InstanceID: inst.InstanceID, CandidateGroup: "managers"})
	if err != nil || len(tasks.Tasks) != 1 {
		t.Fatalf("tasks for the managers group: %+v, %v", tasks, err)
	}
	done, err := ann.CompleteTask(ctx, baton.CompleteTaskRequest{TaskID: tasks.Tasks[0].ID, Variables: map[string]any{"approved": false}})
	if err != nil {
		t.Fatalf("complete as ann (group managers from the token): %v", err)
	}
	if done.Status != baton.StatusCompleted {
		t.Errorf("instance %s after the rejection, want COMPLETED", done.Status)
	}

	var p *baton.Problem
	other := baton.NewClient(srv.url, baton.WithToken(token("ann", "operator", "another-app")))
	if _, err := other.Instance(ctx, inst.InstanceID); !errors.As(err, &p) || p.Status != 401 {
		t.Errorf("a token for another audience: %v, want 401", err)
	}
	viewer := baton.NewClient(srv.url, baton.WithToken(token("vic", "viewer", "baton")))
	if _, err := viewer.Instance(ctx, inst.InstanceID); err != nil {
		t.Errorf("a viewer reads: %v", err)
	}
	if _, err := viewer.Start(ctx, baton.StartRequest{DefinitionID: "loan-approval", Variables: vars}); !errors.As(err, &p) || p.Status != 403 {
		t.Errorf("a viewer starts: %v, want 403", err)
	}
	static := baton.NewClient(srv.url, baton.WithToken("dev-admin"))
	if _, err := static.Instance(ctx, inst.InstanceID); err != nil {
		t.Errorf("a static token beside OIDC: %v", err)
	}
	srv.stop(t)
}

func TestOIDCIssuerMustBeHTTPS(t *testing.T) {
	t.Setenv("BATON_OIDC_ISSUER", "http://login.example.com")
	t.Setenv("BATON_OIDC_AUDIENCE", "baton")
	if _, err := oidcVerifier(); err == nil {
		t.Fatal("an http issuer on the network was accepted")
	}
	t.Setenv("BATON_OIDC_ISSUER", "https://login.example.com")
	t.Setenv("BATON_OIDC_AUDIENCE", "")
	if _, err := oidcVerifier(); err == nil {
		t.Fatal("an issuer without audience was accepted")
	}
}
