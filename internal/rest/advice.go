package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

type applyAdviceInput struct {
	ID string `path:"id" doc:"Incident id."`
}

func (s *server) registerAdvice(api huma.API) {
	handle(s, api, huma.Operation{
		OperationID: "apply-advice", Method: http.MethodPost, Path: "/api/runtime/incidents/{id}/apply-advice", Tags: []string{"runtime"},
		Summary: "Apply an incident's LLM advice",
		Description: "Recovers the incident as its stored advice suggests: retry, retry with the proposed variables, or skip. " +
			"409 when the incident has no advice, is not open, or the advice is to escalate to a person.",
		Errors: []int{404, 409},
	}, s.applyAdvice)
}

func (s *server) applyAdvice(ctx context.Context, in *applyAdviceInput) (*instanceOutput, error) {
	inc, err := s.store().Incident(ctx, in.ID)
	if err != nil {
		return nil, fmt.Errorf("incident %q: %w", in.ID, err)
	}
	if inc.State != store.IncidentOpen {
		return nil, fmt.Errorf("incident %q is %s: %w", in.ID, inc.State, store.ErrConflict)
	}
	var a struct {
		Action    string         `json:"action"`
		Variables map[string]any `json:"variables"`
	}
	if len(inc.Advice) == 0 || json.Unmarshal(inc.Advice, &a) != nil {
		return nil, fmt.Errorf("incident %q has no advice (is an LLM provider configured?): %w", in.ID, store.ErrConflict)
	}
	req := runner.RecoverRequest{InstanceID: inc.InstanceID, IncidentID: inc.ID, Actor: actor(ctx)}
	switch a.Action {
	case "retry":
		req.Action = "retry"
	case "retry_with_changes":
		req.Action, req.Variables = "retry", a.Variables
	case "skip":
		req.Action = "skip"
	default:
		return nil, fmt.Errorf("the advice for incident %q is to %s: a person must decide: %w", in.ID, a.Action, store.ErrConflict)
	}
	st, err := s.r.Recover(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("apply advice to incident %q: %w", in.ID, err)
	}
	return s.instanceOut(ctx, st.InstanceID)
}
