package llm

import (
	"fmt"
	"math"
	"unicode/utf8"
)

// Limits on what a provider's answer may hand Baton. A model or a gateway
// in front of it may answer with anything; these bounds keep an answer
// from switching off a budget, overflowing a counter or filling the
// database. docs/llm.md ("Limits and hostile providers") lists them.
const (
	// MaxResponseBytes bounds the HTTP response body a provider reads. A
	// larger body fails the call with [ErrResponseTooLarge] (not
	// retryable).
	MaxResponseBytes = 8 << 20
	// MaxUsageTokens bounds each token figure of one call. No model has a
	// context window near it; a larger (or a negative) figure is a
	// provider error ([ErrImplausibleUsage]).
	MaxUsageTokens = 10_000_000
	// MaxAnswerBytes bounds a tool call's input (a structured answer, an
	// agent's activity input or result). A larger one is an invalid answer,
	// corrected once like any other.
	MaxAnswerBytes = 64 << 10
	// MaxModelName bounds the model name a provider reports (it becomes a
	// metrics label and a column).
	MaxModelName = 128
)

// ErrImplausibleUsage is the cause of a call whose answer reports token
// usage that cannot be true: a negative figure or one above
// [MaxUsageTokens]. The answer is not used; its Response is returned with
// the error (usage clamped into range) so that it can be recorded.
var ErrImplausibleUsage = fmt.Errorf("llm: implausible token usage (each figure must be between 0 and %d)", MaxUsageTokens)

// CheckResponse bounds what a provider's resp carries, in place: the usage
// figures are clamped into [0, MaxUsageTokens] and the model name is
// clipped. It returns a non-retryable [*Error] wrapping
// [ErrImplausibleUsage] when a usage figure was out of range. Providers
// call it on every answer before returning it.
func CheckResponse(provider string, resp *Response) error {
	if len(resp.Model) > MaxModelName {
		resp.Model = clipText(resp.Model, MaxModelName)
	}
	in, out := resp.Usage.InputTokens, resp.Usage.OutputTokens
	resp.Usage = Usage{InputTokens: clampTokens(in), OutputTokens: clampTokens(out)}
	if resp.Usage.InputTokens == in && resp.Usage.OutputTokens == out {
		return nil
	}
	return &Error{Provider: provider, Status: 200, Err: ErrImplausibleUsage,
		Msg: fmt.Sprintf("implausible token usage: input %d, output %d (each must be between 0 and %d); the answer is not used", in, out, MaxUsageTokens)}
}

func clampTokens(n int) int {
	return min(max(n, 0), MaxUsageTokens)
}

// AddSat returns a+b, saturating at the limits of int64 instead of
// wrapping around. Budgets and costs are summed with it.
func AddSat(a, b int64) int64 {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return math.MaxInt64
	case a < 0 && b < 0 && s >= 0:
		return math.MinInt64
	}
	return s
}

// MulSat returns a*b for non-negative a and b, saturating at
// math.MaxInt64.
func MulSat(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

// clipText cuts s to at most n bytes without splitting a UTF-8 sequence,
// marking the cut with "…".
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Clip is clipText for callers: s cut to at most n bytes (plus a "…"
// marker) on a UTF-8 boundary.
func Clip(s string, n int) string { return clipText(s, n) }

// ClipRaw bounds a raw response for a record: at most n bytes, followed by
// a marker that says how long the whole was.
func ClipRaw(raw []byte, n int) []byte {
	if len(raw) <= n {
		return raw
	}
	out := append([]byte(nil), raw[:n]...)
	return append(out, fmt.Sprintf("\n…[truncated: %d of %d bytes kept]", n, len(raw))...)
}
