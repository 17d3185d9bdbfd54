package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/dmn"
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

// problem is the error every handler returns: an RFC 9457 problem document
// (baton.Problem) that huma writes as application/problem+json.
type problem baton.Problem

func (p *problem) Error() string  { return (*baton.Problem)(p).Error() }
func (p *problem) GetStatus() int { return p.Status }

// ContentType makes huma send problems as application/problem+json.
func (p *problem) ContentType(ct string) string {
	if ct == "" || ct == "application/json" {
		return "application/problem+json"
	}
	return ct
}

func newProblem(status int, detail string) *problem {
	return &problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail}
}

var installErrorsOnce sync.Once

// installErrors makes huma's own errors (validation, malformed bodies,
// oversized bodies, unsupported media types) baton problems with a detail
// that says what is wrong and where. huma's error constructor is a package
// variable, so this is process-wide; every API in the process is a Baton
// API.
func installErrors() {
	installErrorsOnce.Do(func() {
		huma.NewError = humaError
		huma.NewErrorWithContext = func(ctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
			p := humaError(status, msg, errs...).(*problem)
			if ctx != nil {
				p.Instance = ctx.URL().Path
			}
			return p
		}
	})
}

// humaError converts an error huma raises into a problem.
func humaError(status int, msg string, errs ...error) huma.StatusError {
	p := newProblem(status, msg)
	for _, err := range errs {
		if err == nil {
			continue
		}
		var d huma.ErrorDetailer
		if errors.As(err, &d) {
			ed := d.ErrorDetail()
			p.Errors = append(p.Errors, baton.ProblemError{Location: ed.Location, Message: ed.Message})
			continue
		}
		p.Errors = append(p.Errors, baton.ProblemError{Message: err.Error()})
	}
	switch {
	case status == 0:
		// The example error huma builds for the OpenAPI schema.
	case status == http.StatusBadRequest && len(p.Errors) == 1 && p.Errors[0].Location == "body":
		p.Detail = "malformed JSON in the request body: " + p.Errors[0].Message
	case status == http.StatusUnsupportedMediaType:
		ct := ""
		for _, e := range p.Errors {
			if _, after, ok := strings.Cut(e.Message, "unknown content type: "); ok {
				ct = after
			}
		}
		p.Detail = "the request body must be JSON (Content-Type: application/json)"
		if ct != "" {
			p.Detail += ", not " + ct
		}
	case status == http.StatusRequestEntityTooLarge:
		// handle gives huma limit+1, because huma refuses a body that
		// reaches its limit rather than one that exceeds it.
		var limit int64
		if _, err := fmt.Sscanf(msg, "request body is too large limit=%d bytes", &limit); err == nil {
			p.Detail = fmt.Sprintf("the request body is larger than the limit of %d bytes", limit-1)
		} else {
			p.Detail = msg
		}
	case len(p.Errors) > 0 && (msg == "validation failed" || msg == ""):
		p.Detail = "invalid request: " + summarize(p.Errors)
	case status == http.StatusInternalServerError:
		// Never leak internals through huma's fallbacks.
		p.Detail = "internal error"
		p.Errors = nil
	}
	return p
}

// summarize joins the first located errors into one line.
func summarize(errs []baton.ProblemError) string {
	var parts []string
	for i, e := range errs {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(errs)-3))
			break
		}
		if e.Location != "" {
			parts = append(parts, e.Location+": "+e.Message)
		} else {
			parts = append(parts, e.Message)
		}
	}
	return strings.Join(parts, "; ")
}

// toProblem is the one mapping from Go errors to HTTP problems.
//
//	*problem, huma.StatusError           as they are
//	*model.ValidationError               422, errors lists every located problem
//	dmn.ErrorList, *dmn.Error            422, the same for decision tables
//	store.ErrNotFound, ErrNoSubscription 404
//	store.ErrConflict, engine.ErrStale,
//	engine.ErrEnded, runner.ErrNotFailed 409
//	runner.ErrInvalid,
//	engine.ErrInvalidCommand             400
//	context canceled / deadline          503
//	anything else                        500, logged, detail hides internals
func (s *server) toProblem(ctx context.Context, err error) *problem {
	var p *problem
	var se huma.StatusError
	var ve *model.ValidationError
	var dl dmn.ErrorList
	var de *dmn.Error
	switch {
	case errors.As(err, &p):
		if p.Instance == "" {
			p.Instance = pathFrom(ctx)
		}
		return p
	case errors.As(err, &se):
		p = newProblem(se.GetStatus(), se.Error())
	case errors.As(err, &ve):
		p = newProblem(http.StatusUnprocessableEntity, "")
		for _, pr := range ve.Problems {
			if pr.Warning {
				continue
			}
			p.Errors = append(p.Errors, baton.ProblemError{Location: location(pr), Message: pr.Message})
		}
		switch n := len(p.Errors); n {
		case 1:
			p.Detail = "invalid definition: " + ve.Problems[0].String()
		default:
			p.Detail = fmt.Sprintf("invalid definition: %d problems; the first: %s", n, firstError(ve))
		}
	case errors.As(err, &dl) || errors.As(err, &de):
		if len(dl) == 0 {
			dl = dmn.ErrorList{de}
		}
		p = newProblem(http.StatusUnprocessableEntity, "invalid decision table: "+dl[0].Error())
		if len(dl) > 1 {
			p.Detail = fmt.Sprintf("invalid decision table: %d problems; the first: %s", len(dl), dl[0].Error())
		}
		for _, e := range dl {
			p.Errors = append(p.Errors, baton.ProblemError{Location: dmnLocation(e), Message: e.Msg})
		}
	case errors.Is(err, store.ErrNotFound), errors.Is(err, engine.ErrNoSubscription):
		p = newProblem(http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrConflict), errors.Is(err, engine.ErrStale),
		errors.Is(err, engine.ErrEnded), errors.Is(err, runner.ErrNotFailed):
		p = newProblem(http.StatusConflict, err.Error())
	case errors.Is(err, runner.ErrInvalid), errors.Is(err, engine.ErrInvalidCommand):
		p = newProblem(http.StatusBadRequest, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		p = newProblem(http.StatusServiceUnavailable, "the request was cancelled or timed out before it finished")
	default:
		ref := strconv.FormatUint(s.errSeq.Add(1), 10)
		s.log.ErrorContext(ctx, "request failed", "err", err, "path", pathFrom(ctx), "ref", ref)
		p = newProblem(http.StatusInternalServerError, "internal error (reference "+ref+" in the server log)")
	}
	p.Instance = pathFrom(ctx)
	p.Detail = trimSentinel(p.Detail)
	return p
}

// trimSentinel drops the ": not found" or ": conflict" that wrapping a
// store sentinel leaves at the end of a message: the status says it.
func trimSentinel(s string) string {
	for _, suffix := range []string{": " + store.ErrNotFound.Error(), ": " + store.ErrConflict.Error()} {
		if t, ok := strings.CutSuffix(s, suffix); ok && t != "" {
			return t
		}
	}
	return s
}

func firstError(ve *model.ValidationError) string {
	for _, pr := range ve.Problems {
		if !pr.Warning {
			return pr.String()
		}
	}
	return ""
}

// location formats a definition problem's place as "file nodeId field
// (path, line N, column M)", leaving out the parts that are unknown:
// "loan.json payout http.url (nodes[4].http.url, line 12, column 9)",
// "loan.bpmn gw default (line 30, column 5)".
func location(p model.Problem) string {
	var parts, where []string
	for _, s := range []string{p.File, p.NodeID, p.Field} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if p.Path != "" && p.Path != p.Field {
		where = append(where, p.Path)
	}
	if pos := p.Position(); pos != "" {
		where = append(where, pos)
	}
	loc := strings.Join(parts, " ")
	if len(where) > 0 {
		loc += " (" + strings.Join(where, ", ") + ")"
	}
	return strings.TrimSpace(loc)
}

// dmnLocation formats a decision table problem's place as "file decision
// rule N input M (line L)", leaving out the parts that are unknown.
func dmnLocation(e *dmn.Error) string {
	var parts []string
	add := func(format string, v any, ok bool) {
		if ok {
			parts = append(parts, fmt.Sprintf(format, v))
		}
	}
	add("%s", e.File, e.File != "")
	add("%s", e.Decision, e.Decision != "")
	add("rule %d", e.Rule, e.Rule > 0)
	add("input %d", e.Input, e.Input > 0)
	add("output %d", e.Output, e.Output > 0)
	loc := strings.Join(parts, " ")
	if e.Line > 0 {
		loc += fmt.Sprintf(" (line %d)", e.Line)
	}
	return strings.TrimSpace(loc)
}

type ctxKey int

const pathKey ctxKey = iota

func pathFrom(ctx context.Context) string {
	s, _ := ctx.Value(pathKey).(string)
	return s
}
