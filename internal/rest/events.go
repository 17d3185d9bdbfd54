package rest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/auth"
)

type healthOutput struct {
	Body baton.Health
}

func (s *server) registerHealth(api huma.API) {
	tags := []string{"Health"}
	handle(s, api, huma.Operation{
		OperationID: "healthz", Method: http.MethodGet, Path: "/healthz", Tags: tags,
		Summary: "Liveness", Description: "200 while the process serves requests.",
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		return &healthOutput{Body: baton.Health{Status: "ok"}}, nil
	})
	handle(s, api, huma.Operation{
		OperationID: "readyz", Method: http.MethodGet, Path: "/readyz", Tags: tags,
		Summary: "Readiness", Description: "200 when the database answers; 503 otherwise.",
		Errors: []int{503},
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := s.store().Ping(ctx); err != nil {
			s.log.WarnContext(ctx, "readiness: database ping failed", "err", err)
			return nil, newProblem(http.StatusServiceUnavailable, "the database is not reachable")
		}
		return &healthOutput{Body: baton.Health{Status: "ok"}}, nil
	})
}

// registerEvents serves GET /api/events as a plain handler (huma has no
// place for comment heartbeats) and documents it in the OpenAPI document.
func (s *server) registerEvents(api huma.API, mux *http.ServeMux) {
	mux.HandleFunc("GET /api/events", s.events)
	op := &huma.Operation{
		OperationID: "events", Method: http.MethodGet, Path: "/api/events", Tags: []string{"Events"},
		Summary: "Live event stream (Server-Sent Events)",
		Description: "Streams a JSON baton.Event per committed transition as a Server-Sent Event (data line, id line). " +
			"A comment line is sent every 15 seconds as a heartbeat. Events of slow readers may be dropped; " +
			"reload the instance to catch up.",
		Parameters: []*huma.Param{
			{Name: "instanceId", In: "query", Description: "Only events of this instance.", Schema: &huma.Schema{Type: "string"}},
			{Name: "access_token", In: "query", Description: "The bearer token, for clients that cannot send an Authorization header (EventSource). Prefer the header: URLs end up in logs.", Schema: &huma.Schema{Type: "string"}},
		},
		Responses: map[string]*huma.Response{
			"200": {Description: "An event stream", Content: map[string]*huma.MediaType{
				"text/event-stream": {Schema: &huma.Schema{Type: "string"}},
			}},
			"401": {Description: "No token, or an invalid one"},
			"403": {Description: "The role is too low"},
			"429": {Description: "The token already holds the most event streams it may (8 by default)"},
		},
	}
	describeRole(op, roleFor(op.OperationID, op.Method))
	api.OpenAPI().AddOperation(op)
}

// events streams runner events until the client goes away or the server
// shuts down.
func (s *server) events(w http.ResponseWriter, r *http.Request) {
	if err := auth.Authorize(r.Context(), roleFor("events", http.MethodGet)); err != nil {
		if errors.Is(err, auth.ErrForbidden) {
			writeProblem(w, r, forbidden("%s", forbiddenDetail(err)))
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="baton"`)
		writeProblem(w, r, newProblem(http.StatusUnauthorized, "not authenticated: send Authorization: Bearer <token>, or ?access_token=<token>"))
		return
	}
	q := r.URL.Query()
	for k := range q {
		if k != "instanceId" {
			writeProblem(w, r, newProblem(http.StatusBadRequest, fmt.Sprintf("unknown query parameter %q (only instanceId is accepted)", k)))
			return
		}
	}
	instanceID := q.Get("instanceId")
	release, ok := s.openStream(r)
	if !ok {
		w.Header().Set("Retry-After", "5")
		writeProblem(w, r, newProblem(http.StatusTooManyRequests, fmt.Sprintf(
			"this token already holds %d open event streams, the limit: close one before opening another", s.cfg.MaxStreamsPerToken)))
		return
	}
	defer release()
	rc := http.NewResponseController(w)
	// The stream outlives any server write timeout.
	_ = rc.SetWriteDeadline(time.Time{})

	ch, unsubscribe := s.r.Subscribe()
	defer unsubscribe()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, ": baton event stream\nretry: 3000\n\n"); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		return
	}

	tick := time.NewTicker(s.cfg.Heartbeat)
	defer tick.Stop()
	var seq int64
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case <-s.cfg.Done:
			return
		case <-tick.C:
			_, err = fmt.Fprint(w, ": heartbeat\n\n")
		case ev, ok := <-ch:
			if !ok {
				return
			}
			if instanceID != "" && ev.InstanceID != instanceID {
				continue
			}
			data, merr := json.Marshal(baton.Event{Type: string(ev.Type), InstanceID: ev.InstanceID, NodeID: ev.NodeID,
				Status: ev.Status, Ref: ev.Ref, Time: ev.Time.UTC()})
			if merr != nil {
				continue
			}
			seq++
			_, err = fmt.Fprintf(w, "id: %d\ndata: %s\n\n", seq, data)
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

// openStream counts an event stream against the caller's token. It
// reports false when the token already holds MaxStreamsPerToken streams;
// otherwise release must be called when the stream ends.
func (s *server) openStream(r *http.Request) (release func(), ok bool) {
	key := sha256.Sum256([]byte(r.Header.Get("Authorization")))
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	if s.streams[key] >= s.cfg.MaxStreamsPerToken {
		return nil, false
	}
	s.streams[key]++
	return func() {
		s.streamsMu.Lock()
		defer s.streamsMu.Unlock()
		if s.streams[key]--; s.streams[key] <= 0 {
			delete(s.streams, key)
		}
	}, true
}
