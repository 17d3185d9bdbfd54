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
			return s // Ollama: {"error":"model not found"}
		}
	}
	text := http.StatusText(status)
	if status == 529 {
		text = "Overloaded"
	}
	if b := strings.TrimSpace(string(body)); b != "" {
		const max = 200
		if len(b) > max {
			b = b[:max] + "..."
		}
		if text == "" {
			return b
		}
		return text + ": " + b
	}
	return text
}

// ParseRetryAfter reads how long a response asks the client to wait:
// retry-after-ms (milliseconds), then Retry-After as seconds (integer or
// decimal) or as an HTTP date relative to now. It returns 0 when no header
// says anything usable.
func ParseRetryAfter(header http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(header.Get("retry-after-ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(header.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// TransportError classifies an error that left no HTTP response: a timeout
// (the request's own or the context's deadline) or a network failure is
// retryable; a cancelled context is not, since the caller gave up.
func TransportError(provider string, err error, timeout time.Duration) *Error {
	e := &Error{Provider: provider, Msg: err.Error(), Err: err}
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		e.Msg = "request cancelled"
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
