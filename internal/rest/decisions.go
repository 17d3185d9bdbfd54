package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/batonhq/baton/internal/runner"
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
	s.registerInstanceDecisions(api)
	handle(s, api, huma.Operation{
		OperationID: "shadow-report", Method: http.MethodGet, Path: "/api/decisions/shadow-report", Tags: []string{"decisions"},
		Summary:     "How LLM gateways in shadow mode would have routed",
		Description: "For every exclusive gateway in shadow mode: decisions recorded, agreements and disagreements with the conditions, the agreement rate, and the disagreeing routed → model flow pairs.",
		Errors:      []int{400, 422},
	}, s.shadowReport)
}

type shadowInput struct {
	DefinitionID string `query:"definitionId"`
}

type shadowOutput struct {
	Body struct {
		Gateways []runner.ShadowStats `json:"gateways"`
	}
}

func (s *server) shadowReport(ctx context.Context, in *shadowInput) (*shadowOutput, error) {
	rep, err := s.r.ShadowReport(ctx, in.DefinitionID)
	if err != nil {
		return nil, err
	}
	out := &shadowOutput{}
	out.Body.Gateways = rep
	if out.Body.Gateways == nil {
		out.Body.Gateways = []runner.ShadowStats{}
	}
	return out, nil
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

type instanceDecisionsInput struct {
	ID string `path:"id" doc:"Instance id."`
}

// DecisionRecord is one recorded LLM call of an instance.
type DecisionRecord struct {
	ID           string          `json:"id"`
	NodeID       string          `json:"nodeId"`
	JobID        string          `json:"jobId,omitempty"`
	Provider     string          `json:"provider"`
	Model        string          `json:"model,omitempty"`
	Decision     json.RawMessage `json:"decision"`
	InputTokens  int             `json:"inputTokens"`
	OutputTokens int             `json:"outputTokens"`
	LatencyMS    int64           `json:"latencyMs"`
	CostMicros   int64           `json:"costMicroDollars"`
	CreatedAt    time.Time       `json:"createdAt"`
	Request      json.RawMessage `json:"request,omitempty" doc:"What was sent to the provider."`
	Response     string          `json:"response,omitempty" doc:"The provider's raw response."`
}

type instanceDecisionsOutput struct {
	Body struct {
		Decisions []DecisionRecord `json:"decisions"`
	}
}

func (s *server) registerInstanceDecisions(api huma.API) {
	handle(s, api, huma.Operation{
		OperationID: "instance-decisions", Method: http.MethodGet, Path: "/api/runtime/instance/{id}/decisions", Tags: []string{"decisions"},
		Summary:     "An instance's recorded LLM decisions",
		Description: "Every LLM call of the instance, recorded before its answer was acted on: provider, model, request, raw response, parsed decision, tokens, latency and cost.",
		Errors:      []int{404},
	}, s.instanceDecisions)
}

func (s *server) instanceDecisions(ctx context.Context, in *instanceDecisionsInput) (*instanceDecisionsOutput, error) {
	if _, err := s.store().Instance(ctx, in.ID); err != nil {
		return nil, fmt.Errorf("instance %q: %w", in.ID, err)
	}
	rows, err := s.store().Decisions(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	out := &instanceDecisionsOutput{}
	out.Body.Decisions = make([]DecisionRecord, 0, len(rows))
	for _, r := range rows {
		rec := DecisionRecord{ID: r.ID, NodeID: r.NodeID, JobID: r.JobID, Provider: r.Provider, Model: r.Model,
			Decision: json.RawMessage(r.Decision), InputTokens: r.InputTokens, OutputTokens: r.OutputTokens,
			LatencyMS: r.LatencyMS, CostMicros: r.CostMicros, CreatedAt: r.CreatedAt, Response: string(r.Response)}
		if json.Valid(r.Request) {
			rec.Request = r.Request
		}
		if !json.Valid(rec.Decision) {
			rec.Decision = json.RawMessage("null")
		}
		out.Body.Decisions = append(out.Body.Decisions, rec)
	}
	return out, nil
}
