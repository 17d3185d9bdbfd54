package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/batonhq/baton/internal/llm"
	"github.com/batonhq/baton/internal/llmtask"
	"github.com/batonhq/baton/internal/model"
)

// llmEvalCommand re-asks recorded gateway decisions with a changed prompt,
// model or provider, offline: it reads the database and writes nothing.
type llmEvalCommand struct {
	main       *Main
	db         string
	definition string
	process    string
	node       string
	decisions  string
	max        int
	json       bool

	from, to time.Time
}

func (c *llmEvalCommand) ParseFlags(ctx context.Context, args []string) error {
	fs := c.main.newFlagSet("llm-eval", "--definition FILE --decisions FROM..TO [--node ID] [--db PATH|URL] [--max N] [--json]", `
Re-ask the recorded decisions of an LLM gateway with a changed prompt (the
gateway's question, description and flows in --definition), model
(BATON_LLM_MODEL or the gateway's llm.model) or provider
(BATON_LLM_PROVIDER and its settings, as for serve), and report how often
the new answers agree with what was recorded and with the people who
reviewed a decision, with tokens, latency and cost on both sides. FROM and
TO are dates (2026-11-01) or RFC 3339 times; either may be left out
("2026-11-01.." is from then on). Nothing is recorded and no instance
changes: the database is only read. Exit 0, or 1 with the error.`)
	fs.StringVar(&c.db, "db", envOr("BATON_DB", "./baton.db"), "SQLite `PATH` or postgres:// URL of the server's database")
	fs.StringVar(&c.definition, "definition", "", "the changed workflow `FILE` (BPMN or workflow JSON)")
	fs.StringVar(&c.process, "process", "", "the process `ID` of a BPMN file with several")
	fs.StringVar(&c.node, "node", "", "the LLM gateway's `ID` (default: the definition's only LLM gateway)")
	fs.StringVar(&c.decisions, "decisions", "", "the recording times `FROM..TO` of the decisions to re-ask")
	fs.IntVar(&c.max, "max", 200, "re-ask at most `N` decisions")
	fs.BoolVar(&c.json, "json", false, "print the report as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) != 0:
		return usageErrorf("llm-eval takes no arguments")
	case c.definition == "":
		return usageErrorf("llm-eval needs --definition FILE")
	case c.decisions == "":
		return usageErrorf("llm-eval needs --decisions FROM..TO")
	case c.max <= 0:
		return usageErrorf("--max must be positive")
	}
	c.from, c.to, err = parseRange(c.decisions)
	return err
}

// parseRange reads FROM..TO, each a date or an RFC 3339 time, or empty.
func parseRange(s string) (from, to time.Time, err error) {
	a, b, ok := strings.Cut(s, "..")
	if !ok {
		return from, to, usageErrorf("--decisions %q: want FROM..TO", s)
	}
	parse := func(v string) (time.Time, error) {
		v = strings.TrimSpace(v)
		if v == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, nil
		}
		if t, err := time.Parse(time.DateOnly, v); err == nil {
			return t, nil
		}
		return time.Time{}, usageErrorf("--decisions: %q is neither a date (2026-11-01) nor an RFC 3339 time", v)
	}
	if from, err = parse(a); err != nil {
		return
	}
	if to, err = parse(b); err != nil {
		return
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return from, to, usageErrorf("--decisions %q: FROM must be before TO", s)
	}
	return from, to, nil
}

func (c *llmEvalCommand) Run(ctx context.Context) error {
	def, err := c.main.loadDefinition(c.definition, c.process)
	if err != nil {
		return fmt.Errorf("--definition: %w", err)
	}
	node, err := llmGateway(def, c.node)
	if err != nil {
		return err
	}
	p, mdl, maxTokens, _, err := llmProvider(nil)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, c.db)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := llmtask.Evaluate(ctx, llmtask.Config{Provider: p, Model: mdl, MaxTokens: maxTokens, Pricing: llm.ExamplePricing()}, st,
		llmtask.EvalOptions{Definition: def, NodeID: node, From: c.from, To: c.to, Max: c.max})
	if err != nil {
		return err
	}
	if c.json {
		enc := json.NewEncoder(c.main.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	writeEvalReport(c.main.Stdout, rep)
	return nil
}

// llmGateway is the node to evaluate: id, or the only LLM gateway.
func llmGateway(def *model.Definition, id string) (string, error) {
	if id != "" {
		if n := def.Node(id); n == nil || n.LLM == nil {
			return "", fmt.Errorf("--node %q is not an LLM gateway of %s", id, def.Source)
		}
		return id, nil
	}
	var found []string
	for _, n := range def.Nodes {
		if n.LLM != nil {
			found = append(found, n.ID)
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("%s has %d LLM gateways (%s): name one with --node", def.Source, len(found), strings.Join(found, ", "))
	}
	return found[0], nil
}

func writeEvalReport(w interface{ Write([]byte) (int, error) }, rep *llmtask.EvalReport) {
	pct := func(a, b int) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f%%", 100*float64(a)/float64(b))
	}
	fmt.Fprintf(w, "gateway %s, asked %s %s: %d decisions in range, %d re-asked, %d skipped (fallbacks), %d failed\n",
		rep.NodeID, rep.Provider, rep.Model, rep.Decisions, rep.Asked, rep.Skipped, rep.Failed)
	fmt.Fprintf(w, "agreement with the recorded answers: %d of %d (%s)\n", rep.AgreeRecorded, rep.Asked, pct(rep.AgreeRecorded, rep.Asked))
	fmt.Fprintf(w, "agreement with people's reviews:     %d of %d (%s)\n", rep.AgreeReviewed, rep.Reviewed, pct(rep.AgreeReviewed, rep.Reviewed))
	fmt.Fprintf(w, "recorded calls: %d tokens, cost %.4f, latency p50 %d ms, max %d ms\n", rep.Recorded.Tokens, float64(rep.Recorded.CostMicros)/1e6, rep.Recorded.LatencyP50MS, rep.Recorded.LatencyMaxMS)
	fmt.Fprintf(w, "new calls:      %d tokens, cost %.4f, latency p50 %d ms, max %d ms\n", rep.New.Tokens, float64(rep.New.CostMicros)/1e6, rep.New.LatencyP50MS, rep.New.LatencyMaxMS)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DECISION\tINSTANCE\tRECORDED\tREVIEWED\tNEW\tCONFIDENCE\tPROBLEM")
	for _, c := range rep.Cases {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.2f\t%s\n", c.DecisionID, c.InstanceID, c.Recorded, orDash(c.Reviewed), orDash(c.Answer), c.Confidence, llm.Clip(c.Problem, 80))
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
