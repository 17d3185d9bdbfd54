package llmtest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/llm"
)

// hostileConformance is the part of [Conformance] about providers that
// misbehave: rate limits, several tool calls, implausible usage, redirects
// and oversized bodies. setup starts the fake server with a script and
// returns it with a provider talking to it.
func hostileConformance(t *testing.T, setup func(*testing.T, ...Reply) (*Server, llm.Provider), ask llm.Request, pick llm.Tool) {
	ctx := context.Background()

	t.Run("OneCallPerTurn", func(t *testing.T) {
		srv, p := setup(t, ToolUse("pick", map[string]any{"flow": "a"}), ToolUse("pick", map[string]any{"flow": "a"}),
			ToolUse("pick", map[string]any{"flow": "a"}))
		for _, choice := range []string{llm.ToolChoiceAuto, llm.ToolChoiceAny, "pick"} {
			req := ask
			req.Tools, req.ToolChoice = []llm.Tool{pick}, choice
			if _, err := p.Complete(ctx, req); err != nil {
				t.Fatalf("Complete(tool choice %q): %v", choice, err)
			}
		}
		for i, r := range srv.Requests() {
			if srv.ParallelToolCallsAllowed(r) {
				t.Errorf("request %d allows several tool calls per turn: %s", i+1, r.Body)
			}
		}
	})

	t.Run("SeveralCallsAreInvalid", func(t *testing.T) {
		two := ToolUse(llm.RespondTool, map[string]any{"decision": "approve", "confidence": 0.9}).
			AndToolUse(llm.RespondTool, map[string]any{"decision": "reject", "confidence": 0.9})
		srv, p := setup(t, two, two)
		answer, resp, err := llm.Structured(ctx, p, ask, DecisionSchema, nil)
		var invalid *llm.InvalidAnswerError
		if !errors.As(err, &invalid) || answer != nil || !strings.Contains(invalid.Problem, "2 tool calls") {
			t.Fatalf("got %s, %v; want an invalid answer naming the 2 calls", answer, err)
		}
		if len(srv.Requests()) != 2 || resp == nil || len(resp.Earlier) != 1 || len(resp.ToolCalls) != 2 || len(resp.Earlier[0].ToolCalls) != 2 {
			t.Errorf("after %d requests the record lacks calls: %+v", len(srv.Requests()), resp)
		}
		_, p = setup(t, two, ToolUse(llm.RespondTool, map[string]any{"decision": "reject", "confidence": 0.8}))
		if answer, _, err := llm.Structured(ctx, p, ask, DecisionSchema, nil); err != nil || !jsonEqual(answer, `{"decision":"reject","confidence":0.8}`) {
			t.Errorf("corrected: %s, %v", answer, err)
		}
		_, p = setup(t, ToolUse("pick", map[string]any{"flow": "a"}).AndToolUse("pick", map[string]any{"flow": "b"}),
			ToolUse("pick", map[string]any{"flow": "a"}).AndToolUse("pick", map[string]any{"flow": "b"}))
		req := ask
		req.Tools = []llm.Tool{pick}
		if _, _, err := llm.Choose(ctx, p, req); !errors.As(err, &invalid) {
			t.Errorf("Choose with two calls twice: %v", err)
		}
	})

	t.Run("ImplausibleUsage", func(t *testing.T) {
		for _, u := range [][2]int{{-1_000_000, 200}, {10, -1}, {9_000_000_000_000_000_000, 5}, {llm.MaxUsageTokens + 1, 0}} {
			_, p := setup(t, ToolUse(llm.RespondTool, map[string]any{"decision": "approve", "confidence": 0.9}).WithUsage(u[0], u[1]))
			answer, resp, err := llm.Structured(ctx, p, ask, DecisionSchema, nil)
			if !errors.Is(err, llm.ErrImplausibleUsage) || llm.IsRetryable(err) || answer != nil {
				t.Errorf("usage %v: got %s, %v; want a final provider error", u, answer, err)
				continue
			}
			if resp == nil {
				t.Errorf("usage %v: the answer is not returned for the record", u)
				continue
			}
			if got := resp.Usage; got.InputTokens < 0 || got.OutputTokens < 0 || got.InputTokens > llm.MaxUsageTokens || got.OutputTokens > llm.MaxUsageTokens {
				t.Errorf("usage %v: not clamped: %+v", u, got)
			}
		}
	})

	t.Run("RateLimitAskedOnce", func(t *testing.T) {
		srv, p := setup(t, Status(http.StatusTooManyRequests, "").WithHeader("retry-after", "30"))
		now := time.Now()
		_, err := p.Complete(ctx, ask)
		var rl *llm.RateLimitedError
		if err := llm.RateLimit(err, now, 0); !errors.As(err, &rl) || rl.Wait != 30*time.Second {
			t.Errorf("RateLimit = %v, want a 30s wait", err)
		}
		if n := len(srv.Requests()); n != 1 {
			t.Errorf("%d requests: the SDK retried a 429 by itself", n)
		}
	})

	t.Run("RedirectNotFollowed", func(t *testing.T) {
		other, _ := setup(t)
		srv, p := setup(t, Raw(http.StatusTemporaryRedirect, "", "").WithHeader("Location", other.URL+"/elsewhere"))
		_, err := p.Complete(ctx, ask)
		if !errors.Is(err, llm.ErrRedirect) || llm.IsRetryable(err) {
			t.Errorf("Complete = %v, want a final llm.ErrRedirect", err)
		}
		if len(srv.Requests()) != 1 || len(other.Requests()) != 0 {
			t.Errorf("the redirect was followed: %d, %d requests", len(srv.Requests()), len(other.Requests()))
		}
	})

	t.Run("ResponseTooLarge", func(t *testing.T) {
		_, p := setup(t, Text(strings.Repeat("x", llm.MaxResponseBytes+1)))
		req := ask
		req.Timeout = time.Minute
		resp, err := p.Complete(ctx, req)
		if !errors.Is(err, llm.ErrResponseTooLarge) || llm.IsRetryable(err) || resp != nil {
			t.Errorf("Complete = %v, want a final llm.ErrResponseTooLarge", err)
		}
	})
}
