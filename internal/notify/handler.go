package notify

import (
	"context"
	"fmt"
	"github.com/batonhq/baton/internal/engine"

	"github.com/batonhq/baton/internal/runner"
)

// Handler is the runner.Handler for send tasks (job kind "send"). It
// reads the node's notify block, renders it over the job's variables,
// and delivers it through the sender of its channel with the job's
// idempotency key.
//
// Outcome: on success the job completes with no variables (a send task
// has no result worth merging into the instance; the history records the
// completion). Template, expression and recipient errors, unknown
// channels and permanent channel failures (4xx, rejected addresses,
// egress refusals) fail the job at once with runner.Permanent; other
// failures (network errors, timeouts, 429, 5xx, SMTP 4xx) are returned as
// they are, and the runner retries them with the node's backoff.
type Handler struct {
	senders Senders
	r       *renderer
}

var _ runner.Handler = (*Handler)(nil)

// NewHandler returns a send-task handler delivering through senders (by
// channel name) and rendering named templates from templates (nil: inline
// bodies only).
func NewHandler(senders Senders, templates *Templates) *Handler {
	return &Handler{senders: senders, r: newRenderer(templates)}
}

// Work sends the job's notification.
func (h *Handler) Work(ctx context.Context, job *runner.Job) (map[string]any, error) {
	m, err := h.Message(job)
	if err != nil {
		return nil, err
	}
	if err := h.senders.Send(ctx, m); err != nil {
		return nil, fmt.Errorf("send task %s: %s: %w", job.NodeID, m.Channel, err)
	}
	return nil, nil
}

// Message renders the job's notification without sending it. Its errors
// are already marked Permanent.
func (h *Handler) Message(job *runner.Job) (Message, error) {
	n := job.Node
	if n == nil || n.Notify == nil {
		return Message{}, runner.Permanent(fmt.Errorf("send task %s has no notify block", job.NodeID))
	}
	spec := Spec{Channel: n.Notify.Channel, To: n.Notify.To, Subject: n.Notify.Subject, Template: n.Notify.Template, Body: n.Notify.Body}
	if h.senders[spec.Channel] == nil {
		return Message{}, runner.Permanent(fmt.Errorf("send task %s: no sender for channel %q", job.NodeID, spec.Channel))
	}
	inst := InstanceInfo{ID: job.InstanceID, NodeID: job.NodeID}
	if job.Definition != nil {
		inst.DefinitionID = job.Definition.ID
	}
	m, err := h.r.render(spec, job.Variables, string(engine.EventSend), inst)
	if err != nil {
		return Message{}, runner.Permanent(fmt.Errorf("send task %s: %w", job.NodeID, err))
	}
	m.IdempotencyKey = job.IdempotencyKey()
	return m, nil
}
