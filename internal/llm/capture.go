package llm

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"time"
)

// ErrRedirect is the cause of a call answered with a redirect. Providers
// do not follow redirects: a model API has no reason to send one, and
// following it would carry the request, and an API key in a header such
// as x-api-key, to another host. It is not retryable.
var ErrRedirect = errors.New("llm: the provider answered with a redirect, which is not followed")

// NoRedirects returns a copy of c (a new client when c is nil) that
// refuses redirects with [ErrRedirect]. Providers wrap their HTTP client
// with it.
func NoRedirects(c *http.Client) *http.Client {
	var out http.Client
	if c != nil {
		out = *c
	}
	out.CheckRedirect = func(*http.Request, []*http.Request) error { return ErrRedirect }
	return &out
}

// Capture records the last HTTP response of a provider call: its body for
// [Response.Raw], and its status and headers to classify a failure. A
// provider makes one per call and installs [Capture.Middleware] in its SDK
// (both SDKs accept a middleware of this shape).
type Capture struct {
	Status int
	Header http.Header
	Body   []byte
}

// Middleware reads the response body into c and hands the SDK an
// identical, re-readable body.
func (c *Capture) Middleware(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	*c = Capture{} // an earlier attempt's response says nothing about this one
	res, err := next(req)
	if err != nil || res == nil || res.Body == nil {
		return res, err
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, MaxResponseBytes+1))
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	if len(body) > MaxResponseBytes {
		return nil, ErrResponseTooLarge
	}
	c.Status, c.Header, c.Body = res.StatusCode, res.Header.Clone(), body
	res.Body = io.NopCloser(bytes.NewReader(body))
	res.ContentLength = int64(len(body))
	return res, nil
}

// Failure classifies err, the error an SDK call returned: an HTTP error
// response seen by the middleware becomes [HTTPError], anything else
// [TransportError]. timeout is the call's timeout, named in the message.
func (c *Capture) Failure(provider string, err error, timeout time.Duration, now time.Time) *Error {
	if c.Status >= 400 {
		e := HTTPError(provider, c.Status, c.Header, c.Body, now)
		e.Err = err
		return e
	}
	return TransportError(provider, err, timeout)
}
