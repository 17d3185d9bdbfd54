package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/batonhq/baton/internal/store"
)

type evaluateInput struct {
	ID   string `path:"id" doc:"Decision id (deploy DMN XML or a JSON decision table with POST /api/definitions)."`
	Body struct {
		Variables map[string]any `json:"variables,omitempty" doc:"The table's inputs."`
	}
}

type evaluateOutput struct {
	Body struct {
		Decision string           `json:"decision"`
		Matched  []int            `json:"matchedRules" doc:"1-based rules whose input entries all matched."`
		Rules    []int            `json:"rules" doc:"The rules that make up the result, in result order."`
		Outputs  []map[string]any `json:"outputs"`
		Result   map[string]any   `json:"result" doc:"What a business rule task would merge into the variables."`
	}
}

func (s *server) registerDecisions(api huma.API) {
	handle(s, api, huma.Operation{
		OperationID: "evaluate-decision", Method: http.MethodPost, Path: "/api/decisions/{id}/evaluate", Tags: []string{"decisions"},
		Summary:     "Evaluate a decision table",
		Description: "Evaluates the latest deployed version of a decision table over the given variables, as a business rule task would. 404 for an unknown decision, 400 when the table cannot be evaluated (UNIQUE with several matches, type mismatch).",
		Errors:      []int{400, 404, 413, 422},
	}, s.evaluateDecision)
}

func (s *server) evaluateDecision(ctx context.Context, in *evaluateInput) (*evaluateOutput, error) {
	res, err := s.r.EvaluateDecision(ctx, in.ID, in.Body.Variables)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("decision %q is not deployed: %w", in.ID, err)
	}
	if err != nil {
		return nil, fmt.Errorf("evaluate decision %q: %w", in.ID, err)
	}
	out := &evaluateOutput{}
	out.Body.Decision, out.Body.Matched, out.Body.Rules, out.Body.Outputs, out.Body.Result = in.ID, res.Matched, res.Rules, res.Outputs, res.Variables()
	if out.Body.Matched == nil {
		out.Body.Matched = []int{}
	}
	if out.Body.Rules == nil {
		out.Body.Rules = []int{}
	}
	if out.Body.Outputs == nil {
		out.Body.Outputs = []map[string]any{}
	}
	return out, nil
}
