package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error is a failed provider call, classified for the retry policy.
//
// Status is the HTTP status (0 when no response arrived: timeout, refused
// connection). Retryable says whether the same request may succeed later;
// RetryAfter is how long the provider asked to wait (0 when it did not say).
// Msg never contains credentials.
type Error struct {
	Provider   string
	Status     int
	Retryable  bool
	RetryAfter time.Duration
	Msg        string
	// Err is the underlying cause, if any (for example
	// context.DeadlineExceeded), for errors.Is and errors.As.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Provider)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": status %d", e.Status)
	}
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	if e.Retryable {
		b.WriteString(" (retryable")
		if e.RetryAfter > 0 {
			fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
		}
		b.WriteString(")")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// RetryDelay is the least wait before a retryable error's next attempt
// (its RetryAfter; 0 for a final error). A job runner that does not import
// this package finds it through an interface of its own
// (interface{ RetryDelay() time.Duration }) and never retries sooner, for
// errors that are not rate limits (a 503 or 529 with Retry-After); rate
// limits are [RateLimitedError]s.
func (e *Error) RetryDelay() time.Duration {
	if !e.Retryable {
		return 0
	}
	return e.RetryAfter
}

// IsRetryable reports whether err is an [*Error] that may succeed if the
// same request is sent again later.
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable
}

// RetryAfter returns the wait an [*Error] in err asks for, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// RetryableStatus classifies an HTTP status: 408, 409, 429, 529 (Anthropic
// "overloaded") and every 5xx are worth retrying; 400, 401, 403, 404, 413,
// 422 and the other 4xx are not, since the same request fails the same way.
func RetryableStatus(status int) bool {
	switch {
	case status == http.StatusRequestTimeout,
		status == http.StatusConflict,
		status == http.StatusTooManyRequests:
		return true
	case status >= 500:
		return true
	}
	return false
}

// HTTPError builds the [*Error] for an HTTP error response from its status,
// headers and body. The x-should-retry header, when present, overrides the
// status classification (Anthropic and OpenAI both send it). The message is
// taken from the usual {"error":{"type":...,"message":...}} body.
func HTTPError(provider string, status int, header http.Header, body []byte, now time.Time) *Error {
	e := &Error{
		Provider:   provider,
		Status:     status,
		Retryable:  RetryableStatus(status),
		RetryAfter: ParseRetryAfter(header, now),
		Msg:        errorMessage(status, body),
	}
	switch strings.ToLower(header.Get("x-should-retry")) {
	case "true":
		e.Retryable = true
	case "false":
		e.Retryable = false
	}
	return e
}

// maxErrorMessage bounds the provider's own error message kept in an
// [*Error] (and so in an incident).
const maxErrorMessage = 500

// errorMessage extracts "type: message" from an error body, falling back to
// the status text and a bounded prefix of a non-JSON body.
func errorMessage(status int, body []byte) string {
	var doc struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &doc) == nil && len(doc.Error) > 0 {
		var obj struct {
			Type    string `json:"type"`
			Code    any    `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(doc.Error, &obj) == nil {
			kind := obj.Type
			if kind == "" && obj.Code != nil {
				kind = fmt.Sprint(obj.Code)
			}
			obj.Message = clipText(obj.Message, maxErrorMessage)
			kind = clipText(kind, maxErrorMessage)
			switch {
			case kind != "" && obj.Message != "":
				return kind + ": " + obj.Message
			case obj.Message != "":
				return obj.Message
			case kind != "":
				return kind
			}
		}
		var s string
		if json.Unmarshal(doc.Error, &s) == nil && s != "" {
			return clipText(s, maxErrorMessage) // Ollama: {"error":"model not found"}
		}
	}
	text := http.StatusText(status)
	if status == 529 {
		text = "Overloaded"
	}
	if b := strings.TrimSpace(string(body)); b != "" {
		b = clipText(b, 200)
		if text == "" {
			return b
		}
		return text + ": " + b
	}
	return text
}

// maxHeaderWait bounds any wait read from a header, so that an absurd
// figure cannot overflow a time.Duration; the caller's own cap (see
// [RateLimit]) is far below it.
const maxHeaderWait = 7 * 24 * time.Hour

// ParseRetryAfter reads the earliest time, as a wait from now, at which a
// response allows the next request. It takes the longest of:
//
//   - retry-after-ms (milliseconds), else Retry-After, as seconds (integer
//     or decimal) or as an HTTP date;
//   - Anthropic's anthropic-ratelimit-{requests,tokens,input-tokens,
//     output-tokens}-reset (RFC 3339 times);
//   - OpenAI's x-ratelimit-reset-{requests,tokens} (durations such as
//     "6m0s", "1s", "20ms").
//
// A reset header counts only when its limit is used up (its -remaining
// header is 0) or when no -remaining header says otherwise. It returns 0
// when no header says anything usable; a wait is never longer than seven
// days, whatever a header claims.
func ParseRetryAfter(header http.Header, now time.Time) time.Duration {
	var wait time.Duration
	longer := func(d time.Duration) {
		if d > wait {
			wait = min(d, maxHeaderWait)
		}
	}
	seconds := func(v string, unit time.Duration) time.Duration {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f != f {
			return 0
		}
		if f*float64(unit) >= float64(maxHeaderWait) {
			return maxHeaderWait
		}
		return time.Duration(f * float64(unit))
	}
	if v := strings.TrimSpace(header.Get("retry-after-ms")); v != "" && seconds(v, time.Millisecond) > 0 {
		longer(seconds(v, time.Millisecond)) // the precise form of Retry-After
	} else if v := strings.TrimSpace(header.Get("Retry-After")); v != "" {
		if d := seconds(v, time.Second); d > 0 {
			longer(d)
		} else if t, err := http.ParseTime(v); err == nil {
			longer(t.Sub(now))
		}
	}
	exhausted := func(remaining string) bool {
		v := strings.TrimSpace(header.Get(remaining))
		return v == "" || v == "0"
	}
	for _, limit := range []string{"requests", "tokens", "input-tokens", "output-tokens"} {
		prefix := "anthropic-ratelimit-" + limit
		if v := strings.TrimSpace(header.Get(prefix + "-reset")); v != "" && exhausted(prefix+"-remaining") {
			if t, err := time.Parse(time.RFC3339, v); err == nil {
				longer(t.Sub(now))
			}
		}
	}
	for _, limit := range []string{"requests", "tokens"} {
		if v := strings.TrimSpace(header.Get("x-ratelimit-reset-" + limit)); v != "" && exhausted("x-ratelimit-remaining-"+limit) {
			if d, err := time.ParseDuration(v); err == nil {
				longer(d)
			} else {
				longer(seconds(v, time.Second)) // some servers send bare seconds
			}
		}
	}
	return wait
}

// DefaultRateLimitWait is how long a rate-limited call waits when the
// provider's answer names no time (a 429 without Retry-After or reset
// headers).
const DefaultRateLimitWait = 30 * time.Second

// DefaultMaxRateLimitWait is the default cap on one rate-limit wait (see
// [RateLimit]).
const DefaultMaxRateLimitWait = 10 * time.Minute

// RateLimitedError says that the provider refused the call for now (HTTP
// 429) and when it may be tried again. It is not a failure of the job: the
// job is to be rescheduled for RetryAt without using up an error attempt.
// The runner finds it through its SnoozeUntil method.
type RateLimitedError struct {
	Provider string
	// Wait is what the provider asked for (or [DefaultRateLimitWait]).
	Wait time.Duration
	// RetryAt is the earliest next attempt: now + Wait.
	RetryAt time.Time
	// Err is the provider's [*Error].
	Err error
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("%s: rate limited; next attempt at %s (in %s)", e.Provider, e.RetryAt.UTC().Format(time.RFC3339), e.Wait)
}

func (e *RateLimitedError) Unwrap() error { return e.Err }

// SnoozeUntil is when the job may run again.
func (e *RateLimitedError) SnoozeUntil() time.Time { return e.RetryAt }

// WaitTooLongError is a rate limit whose wait is longer than the cap: the
// call gives up, and the message names the wait and the cap.
type WaitTooLongError struct {
	Provider string
	Wait     time.Duration
	Cap      time.Duration
	Err      error
}

func (e *WaitTooLongError) Error() string {
	return fmt.Sprintf("%s: rate limited: the provider asks to wait %s, longer than the %s cap on rate-limit waits: %v",
		e.Provider, e.Wait, e.Cap, e.Err)
}

func (e *WaitTooLongError) Unwrap() error { return e.Err }

// RateLimit classifies err for the job layer. It returns nil when err is
// not a rate limit (an HTTP 429 that the provider did not mark as final,
// as OpenAI does for an exhausted quota with x-should-retry: false). For a
// rate limit it returns a [*RateLimitedError] with the earliest next
// attempt, or a [*WaitTooLongError] when the wait exceeds maxWait (0 means
// [DefaultMaxRateLimitWait]).
func RateLimit(err error, now time.Time, maxWait time.Duration) error {
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusTooManyRequests || !e.Retryable {
		return nil
	}
	if maxWait <= 0 {
		maxWait = DefaultMaxRateLimitWait
	}
	wait := e.RetryAfter
	if wait <= 0 {
		wait = DefaultRateLimitWait
	}
	if wait > maxWait {
		return &WaitTooLongError{Provider: e.Provider, Wait: wait, Cap: maxWait, Err: err}
	}
	return &RateLimitedError{Provider: e.Provider, Wait: wait, RetryAt: now.Add(wait), Err: err}
}

// ErrResponseTooLarge is the cause of a call whose response body exceeds
// [MaxResponseBytes]. It is not retryable.
var ErrResponseTooLarge = fmt.Errorf("llm: response body exceeds %d bytes", MaxResponseBytes)

// TransportError classifies an error that left no HTTP response: a timeout
// (the request's own or the context's deadline) or a network failure is
// retryable; a cancelled context is not, since the caller gave up.
func TransportError(provider string, err error, timeout time.Duration) *Error {
	e := &Error{Provider: provider, Msg: clipText(err.Error(), maxErrorMessage), Err: err}
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		e.Msg = "request cancelled"
	case errors.Is(err, ErrResponseTooLarge), errors.Is(err, ErrRedirect):
		// The same request would get the same answer.
		e.Msg = err.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		e.Retryable = true
		e.Msg = "request timed out"
		if timeout > 0 {
			e.Msg += " after " + timeout.String()
		}
	default:
		// Refused or reset connections, DNS failures, truncated bodies:
		// the provider may well answer next time.
		e.Retryable = true
	}
	return e
}
