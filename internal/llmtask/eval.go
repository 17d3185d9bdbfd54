package llmtask

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/batonhq/baton/internal/llm"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

// EvalStore is what an evaluation reads: the recorded decisions of a node
// and the instances' history (to find people's reviews). It writes nothing.
type EvalStore interface {
	DecisionsByNode(ctx context.Context, nodeID, after string, limit int) ([]store.DecisionRow, error)
	History(ctx context.Context, instanceID string) ([]store.HistoryRow, error)
}

// EvalOptions says what an evaluation re-asks, and how.
type EvalOptions struct {
	// Definition holds the changed gateway (question, description,
	// flows, model); NodeID names it.
	Definition *model.Definition
	NodeID     string
	// From and To bound the decisions' recording time: From <= t < To
	// (zero: unbounded).
	From, To time.Time
	// Max bounds the decisions re-asked (default 200).
	Max int
}

// EvalCase is one recorded decision, asked again.
type EvalCase struct {
	DecisionID string `json:"decisionId"`
	InstanceID string `json:"instanceId"`
	// Recorded is the flow the recorded model chose; Reviewed the flow a
	// person chose when they reviewed it ("" when nobody did).
	Recorded string `json:"recorded"`
	Reviewed string `json:"reviewed,omitempty"`
	// Answer is the flow the new prompt or model chose ("" when it gave
	// none; Problem says why), with its reason and confidence.
	Answer     string  `json:"answer,omitempty"`
	Reason     string  `json:"reason,omitempty"`
	Confidence float64 `json:"confidence,omitempty"`
	Problem    string  `json:"problem,omitempty"`
	Tokens     int     `json:"tokens"`
	LatencyMS  int64   `json:"latencyMs"`
	CostMicros int64   `json:"costMicros"`
}

// EvalSide sums the cost of one side (the recorded calls or the new ones).
type EvalSide struct {
	Tokens     int64 `json:"tokens"`
	CostMicros int64 `json:"costMicros"`
	// LatencyP50MS and LatencyMaxMS are over the calls that answered.
	LatencyP50MS int64 `json:"latencyP50Ms"`
	LatencyMaxMS int64 `json:"latencyMaxMs"`
}

// EvalReport is the outcome of an evaluation.
type EvalReport struct {
	NodeID   string `json:"nodeId"`
	Provider string `json:"provider"`
	Model    string `json:"model,omitempty"`
	// Decisions is how many recorded decisions were in range; Skipped of
	// them had no flow to compare (a fallback) or no readable input.
	Decisions int `json:"decisions"`
	Skipped   int `json:"skipped"`
	Asked     int `json:"asked"`
	// AgreeRecorded counts new answers equal to the recorded flow;
	// Reviewed counts decisions a person reviewed, AgreeReviewed the new
	// answers equal to the person's flow.
	AgreeRecorded int        `json:"agreeRecorded"`
	Reviewed      int        `json:"reviewed"`
	AgreeReviewed int        `json:"agreeReviewed"`
	Failed        int        `json:"failed"`
	Recorded      EvalSide   `json:"recordedCalls"`
	New           EvalSide   `json:"newCalls"`
	Cases         []EvalCase `json:"cases"`
}

// Evaluate re-asks the recorded decisions of an LLM gateway with the
// gateway of opts.Definition and cfg's provider and model, and reports how
// the answers compare with what was recorded and with people's reviews. It
// records nothing and changes nothing: cfg.Store is not used.
func Evaluate(ctx context.Context, cfg Config, st EvalStore, opts EvalOptions) (*EvalReport, error) {
	n := opts.Definition.Node(opts.NodeID)
	if n == nil || n.LLM == nil {
		return nil, fmt.Errorf("%s has no LLM gateway %q", opts.Definition.Source, opts.NodeID)
	}
	p := cfg.Provider
	if p == nil {
		p = llm.None{}
	}
	if _, none := p.(llm.None); none {
		return nil, errors.New("no LLM provider is configured to ask (BATON_LLM_PROVIDER)")
	}
	limit := opts.Max
	if limit <= 0 {
		limit = 200
	}
	rows, err := decisionsInRange(ctx, st, opts, limit)
	if err != nil {
		return nil, err
	}
	rep := &EvalReport{NodeID: n.ID, Provider: p.Name(), Model: firstNonEmpty(n.LLM.Model, cfg.Model), Decisions: len(rows), Cases: []EvalCase{}}
	var oldLat, newLat []int64
	reviews := map[string][]store.HistoryRow{}
	for _, row := range rows {
		var d Decision
		vars, ok := recordedVariables(row.Request)
		if json.Unmarshal(row.Decision, &d) != nil || d.Fallback != "" || d.Flow == "" || !ok {
			rep.Skipped++
			continue
		}
		if _, seen := reviews[row.InstanceID]; !seen {
			h, err := st.History(ctx, row.InstanceID)
			if err != nil {
				return nil, fmt.Errorf("history of instance %s: %w", row.InstanceID, err)
			}
			reviews[row.InstanceID] = h
		}
		c := EvalCase{DecisionID: row.ID, InstanceID: row.InstanceID, Recorded: d.Flow, Reviewed: reviewedFlow(reviews[row.InstanceID], row)}
		rep.Recorded.Tokens += int64(row.InputTokens + row.OutputTokens)
		rep.Recorded.CostMicros += row.CostMicros
		oldLat = append(oldLat, row.LatencyMS)

		job := &runner.Job{JobRow: store.JobRow{ID: row.JobID, InstanceID: row.InstanceID, NodeID: n.ID}, Definition: opts.Definition, Node: n, Variables: vars}
		req, schema := prompt(cfg, job)
		answer, resp, err := llm.Structured(ctx, p, req, schema, nil)
		rep.Asked++
		if resp != nil {
			u := resp.TotalUsage()
			c.Tokens, c.LatencyMS = u.Total(), resp.Latency.Milliseconds()
			if cfg.Pricing != nil {
				c.CostMicros = cfg.Pricing.Cost(resp.Model, u)
			}
			newLat = append(newLat, c.LatencyMS)
		}
		rep.New.Tokens += int64(c.Tokens)
		rep.New.CostMicros += c.CostMicros
		var got Decision
		switch {
		case err != nil:
			c.Problem = llm.Clip(err.Error(), MaxReason)
			rep.Failed++
		case json.Unmarshal(answer, &got) != nil:
			c.Problem = "unreadable answer"
			rep.Failed++
		default:
			c.Answer, c.Reason, c.Confidence = got.Flow, llm.Clip(got.Reason, MaxReason), got.Confidence
		}
		if c.Answer != "" && c.Answer == c.Recorded {
			rep.AgreeRecorded++
		}
		if c.Reviewed != "" {
			rep.Reviewed++
			if c.Answer == c.Reviewed {
				rep.AgreeReviewed++
			}
		}
		rep.Cases = append(rep.Cases, c)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	rep.Recorded.LatencyP50MS, rep.Recorded.LatencyMaxMS = median(oldLat), maxOf(oldLat)
	rep.New.LatencyP50MS, rep.New.LatencyMaxMS = median(newLat), maxOf(newLat)
	return rep, nil
}

// decisionsInRange pages through the node's decisions, keeping those
// recorded in [From, To), at most limit.
func decisionsInRange(ctx context.Context, st EvalStore, opts EvalOptions, limit int) ([]store.DecisionRow, error) {
	var out []store.DecisionRow
	after := ""
	for len(out) < limit {
		page, err := st.DecisionsByNode(ctx, opts.NodeID, after, 500)
		if err != nil {
			return nil, fmt.Errorf("decisions of %s: %w", opts.NodeID, err)
		}
		for _, r := range page {
			in := (opts.From.IsZero() || !r.CreatedAt.Before(opts.From)) && (opts.To.IsZero() || r.CreatedAt.Before(opts.To))
			if in && len(out) < limit {
				out = append(out, r)
			}
		}
		if len(page) < 500 {
			break
		}
		after = page[len(page)-1].ID
	}
	return out, nil
}

// recordedVariables reads the variables a recorded gateway request showed
// the model (its "variables" data block).
func recordedVariables(request []byte) (map[string]any, bool) {
	var req llm.Request
	if json.Unmarshal(request, &req) != nil {
		return nil, false
	}
	const fence = "```json data:variables\n"
	for _, m := range req.Messages {
		i := strings.Index(m.Text, fence)
		if i < 0 {
			continue
		}
		body := m.Text[i+len(fence):]
		j := strings.Index(body, "\n```")
		if j < 0 {
			return nil, false
		}
		var vars map[string]any
		if json.Unmarshal([]byte(body[:j]), &vars) != nil {
			return nil, false
		}
		if vars == nil {
			vars = map[string]any{}
		}
		return vars, true
	}
	return nil, false
}

// reviewedFlow is the flow a person chose at the decision's gateway after
// it was recorded, or "".
func reviewedFlow(hist []store.HistoryRow, row store.DecisionRow) string {
	for _, h := range hist {
		if h.NodeID != row.NodeID || h.Action != "completed" || h.Time.Before(row.CreatedAt) {
			continue
		}
		var res struct {
			Flow string `json:"flow"`
			By   string `json:"by"`
		}
		if json.Unmarshal(h.Result, &res) == nil && res.By == "person" {
			return res.Flow
		}
	}
	return ""
}

func median(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]int64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func maxOf(v []int64) int64 {
	var m int64
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
