package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

type instanceOutput struct {
	Body *baton.Instance
}

type idPath struct {
	ID string `path:"id" doc:"Instance id."`
}

type startInput struct {
	Body    baton.StartRequest
	RawBody []byte
}

// Resolve names the right field when a start body says processData (the
// seed's word, and where an instance shows its variables) for variables.
func (in *startInput) Resolve(huma.Context) []error {
	var seed struct {
		ProcessData json.RawMessage `json:"processData"`
	}
	if bytes.Contains(in.RawBody, []byte(`"processData"`)) && json.Unmarshal(in.RawBody, &seed) == nil && seed.ProcessData != nil {
		return []error{&huma.ErrorDetail{Location: "body.processData", Message: `is not a field of a start request: its variables go in "variables" (processData is where an instance shows them)`}}
	}
	return nil
}

type completeInput struct {
	Body baton.CompleteTaskRequest
}

type recoverInput struct {
	ID   string `path:"id" doc:"Instance id."`
	Body *baton.RecoverRequest
}

type messageInput struct {
	Body baton.MessageRequest
}

type tasksInput struct {
	Assignee       string    `query:"assignee" doc:"Only tasks assigned to this user."`
	CandidateGroup string    `query:"candidateGroup" doc:"Only tasks with this candidate group."`
	InstanceID     string    `query:"instanceId"`
	DefinitionID   string    `query:"definitionId"`
	DueBefore      time.Time `query:"dueBefore" doc:"Only tasks due before this time (RFC 3339)."`
	State          string    `query:"state" enum:"open,completed,cancelled" doc:"Task state (default open)."`
	All            bool      `query:"all" doc:"Every user's tasks, not only the caller's (needs the operator role). Without it the list holds the tasks the caller may work on: assigned to the caller, or unassigned and offered to the caller or the caller's groups (an admin's: every task)."`
	Search         string    `query:"q" maxLength:"200" doc:"Only tasks whose name, instance business key, or process name or id contains this text (ASCII case ignored)."`
	Sort           string    `query:"sort" enum:"created,due,name,priority,completed" doc:"Order by this field (the id breaks ties); without it the list is in id order. Tasks without a due or completion time come last."`
	Order          string    `query:"order" enum:"asc,desc" doc:"Direction of sort (default asc)."`
	CompletedBy    string    `query:"completedBy" maxLength:"200" doc:"Only tasks completed by this user; me is the caller. Another user's needs the operator role. Use with state=completed."`
	After          string    `query:"after" doc:"Page cursor: the next value of the previous page."`
	Limit          int       `query:"limit" minimum:"1" maximum:"1000" doc:"Page size (default 100)."`
}

type tasksOutput struct {
	Body baton.TaskList
}

type historyOutput struct {
	Body baton.History
}

type incidentsInput struct {
	State        string `query:"state" enum:"open,resolved" doc:"Incident state (default: every state)."`
	InstanceID   string `query:"instanceId"`
	DefinitionID string `query:"definitionId"`
	NodeID       string `query:"nodeId"`
	Message      string `query:"message" doc:"Exact error message (an incident group's)."`
	After        string `query:"after" doc:"Page cursor: the next value of the previous page."`
	Limit        int    `query:"limit" minimum:"1" maximum:"1000" doc:"Page size (default 100)."`
}

type incidentsOutput struct {
	Body baton.IncidentList
}

func (s *server) registerRuntime(api huma.API) {
	tags := []string{"Runtime"}
	handle(s, api, huma.Operation{
		OperationID: "start-instance", Method: http.MethodPost, Path: "/api/runtime/start", Tags: tags,
		Summary: "Start an instance",
		Description: "Starts an instance of a deployed definition (the latest version unless version is given) and returns it after its first transition committed. " +
			"Send an Idempotency-Key to make a retry safe: the key is written with the instance, so a repeat gets this instance even when the first answer was lost. " +
			"When the definition declares uniqueBusinessKey, a start with a business key that a running, waiting or failed instance holds is a 409 naming that instance.",
		DefaultStatus: http.StatusCreated,
		Errors:        []int{400, 404, 409, 413, 422},
	}, s.start)
	handle(s, api, huma.Operation{
		OperationID: "complete-task", Method: http.MethodPost, Path: "/api/runtime/complete-task", Tags: tags,
		Summary: "Complete a user task",
		Description: "Completes an open user task with the submitted variables (the form's values) and returns the instance. " +
			"The submission is validated against the task's form (GET /api/runtime/tasks/{id}/form): any bad field is a 422 whose errors name " +
			"each one (location variables.KEY), and nothing changes. A valid submission is mapped into the variables (nested keys merged) and " +
			"completes the task in one transaction. A task that is not open (completed, cancelled) is a 409.",
		Errors: []int{400, 404, 409, 413, 422},
	}, s.completeTask)
	handle(s, api, huma.Operation{
		OperationID: "get-instance", Method: http.MethodGet, Path: "/api/runtime/instance/{id}", Tags: tags,
		Summary: "Get an instance", Description: "Returns the instance with its variables, current nodes, execution history and checkpoints.",
		Errors: []int{404},
	}, s.getInstance)
	handle(s, api, huma.Operation{
		OperationID: "recover-instance", Method: http.MethodPost, Path: "/api/runtime/recover/{id}", Tags: tags,
		Summary:     "Recover a failed instance",
		Description: "Resolves the open incidents of a FAILED instance from its last checkpoint: retry the failed node (default), skip it, or move the token to a target node, optionally with changed variables. An instance without incidents is a 409.",
		Errors:      []int{400, 404, 409, 413, 422},
	}, s.recover)
	handle(s, api, huma.Operation{
		OperationID: "list-tasks", Method: http.MethodGet, Path: "/api/runtime/tasks", Tags: tags,
		Summary: "List user tasks",
		Description: "Lists user tasks (open by default), ordered by id or by sort, one page at a time: by default the tasks the caller may work on " +
			"(assigned to the caller, or unassigned with the caller among the candidate users or in a candidate group; for an admin, every task); all=true lists everyone's; " +
			"completedBy=me (with state=completed) the tasks the caller completed. The other filters narrow the list further; q searches the task name, business key and process name. " +
			"Each task comes with its instance's business key, its process name and the values of its definition's task list columns (taskListColumns).",
		Errors: []int{400, 422},
	}, s.listTasks)
	handle(s, api, huma.Operation{
		OperationID: "list-instances", Method: http.MethodGet, Path: "/api/runtime/instances", Tags: tags,
		Summary: "Search instances", Description: instancesDoc,
		Errors: []int{400, 422},
	}, s.listInstances)
	handle(s, api, huma.Operation{
		OperationID: "cancel-instance", Method: http.MethodPost, Path: "/api/runtime/instance/{id}/cancel", Tags: tags,
		Summary: "Cancel an instance", Description: "Cancels a running instance: its tasks, jobs and subscriptions are cancelled. An ended instance is a 409.",
		Errors: []int{404, 409},
	}, s.cancel)
	handle(s, api, huma.Operation{
		OperationID: "instance-history", Method: http.MethodGet, Path: "/api/runtime/instance/{id}/history", Tags: tags,
		Summary: "Get an instance's history", Errors: []int{404},
	}, s.history)
	handle(s, api, huma.Operation{
		OperationID: "correlate-message", Method: http.MethodPost, Path: "/api/runtime/messages", Tags: tags,
		Summary:     "Deliver a message",
		Description: "Delivers a message to the instance waiting for it (by name and correlation key) and returns that instance. When none waits: 404, or with timeToLive 202 and the message is kept for a catch event that opens in time. 409 when messageId was already delivered.",
		Errors:      []int{400, 404, 409, 413, 422},
	}, s.message)
	handle(s, api, huma.Operation{
		OperationID: "list-incidents", Method: http.MethodGet, Path: "/api/runtime/incidents", Tags: tags,
		Summary: "List incidents", Errors: []int{400, 422},
	}, s.listIncidents)
	handle(s, api, huma.Operation{
		OperationID: "list-dead-letters", Method: http.MethodGet, Path: "/api/runtime/dead-letters", Tags: tags,
		Summary: "List dead-lettered jobs", Description: "Jobs whose retries are exhausted and whose incident is still open (a job retried, skipped or moved past by an operator leaves the list).",
		Errors: []int{400, 422},
	}, s.listDeadLetters)
	handle(s, api, huma.Operation{
		OperationID: "drain-dead-letters", Method: http.MethodPost, Path: "/api/runtime/dead-letters/drain", Tags: tags,
		Summary:     "Retry or discard dead letters",
		Description: "Resolves the incident of every matching dead letter: retry runs its node again from the last checkpoint, discard completes the node without running it. Each resolution is recorded in the instance history.",
		Errors:      []int{400, 422},
	}, s.drainDeadLetters)
	handle(s, api, huma.Operation{
		OperationID: "sla-report", Method: http.MethodGet, Path: "/api/runtime/sla", Tags: tags,
		Summary:     "SLA breaches per definition",
		Description: "For each definition: open user tasks past their due date, tasks completed late and in time, the worst current overdue, and breaches per task node.",
		Errors:      []int{400, 422},
	}, s.slaReport)
	handle(s, api, huma.Operation{
		OperationID: "list-notifications", Method: http.MethodGet, Path: "/api/notifications", Tags: []string{"notifications"},
		Summary: "List notification deliveries", Description: "The delivery log: state, attempts and last error of every notification.",
		Errors: []int{400, 422},
	}, s.listNotifications)
	handle(s, api, huma.Operation{
		OperationID: "resend-notification", Method: http.MethodPost, Path: "/api/notifications/{id}/resend", Tags: []string{"notifications"},
		Summary: "Re-send a dead notification", Errors: []int{404, 409},
	}, s.resendNotification)
}

type notificationsInput struct {
	State      string `query:"state" enum:"pending,sent,dead,"`
	InstanceID string `query:"instanceId"`
	Channel    string `query:"channel"`
	Event      string `query:"event"`
	After      string `query:"after"`
	Limit      int    `query:"limit" minimum:"0" maximum:"1000"`
}

type notificationsOutput struct {
	Body baton.NotificationList
}

func (s *server) listNotifications(ctx context.Context, in *notificationsInput) (*notificationsOutput, error) {
	limit := page(in.Limit)
	rows, err := s.r.Outbox(ctx, store.OutboxFilter{State: in.State, InstanceID: in.InstanceID, Channel: in.Channel, Event: in.Event, After: in.After, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	out := &notificationsOutput{Body: baton.NotificationList{Notifications: make([]baton.Notification, 0, len(rows))}}
	for _, o := range rows {
		n := baton.Notification{ID: o.ID, InstanceID: o.InstanceID, Event: o.Event, Channel: o.Channel, Target: o.Target, State: o.State,
			Attempts: o.Attempts, LastError: o.LastError, CreatedAt: o.CreatedAt, SentAt: o.SentAt}
		if o.State == store.OutboxPending {
			n.NextAt = o.RunAt
		}
		out.Body.Notifications = append(out.Body.Notifications, n)
	}
	if len(rows) == limit {
		out.Body.Next = rows[len(rows)-1].ID
	}
	return out, nil
}

type notificationIDPath struct {
	ID string `path:"id"`
}

func (s *server) resendNotification(ctx context.Context, in *notificationIDPath) (*struct{}, error) {
	if err := s.r.Resend(ctx, in.ID); err != nil {
		return nil, fmt.Errorf("re-send notification %s (only dead ones can be re-sent): %w", in.ID, err)
	}
	return &struct{}{}, nil
}

type slaInput struct {
	DefinitionID string `query:"definitionId"`
}

type slaOutput struct {
	Body struct {
		Definitions []runner.SLABreach `json:"definitions"`
	}
}

func (s *server) slaReport(ctx context.Context, in *slaInput) (*slaOutput, error) {
	rep, err := s.r.SLAReport(ctx, in.DefinitionID)
	if err != nil {
		return nil, err
	}
	out := &slaOutput{}
	out.Body.Definitions = rep
	return out, nil
}

type deadLettersInput struct {
	InstanceID string `query:"instanceId"`
	NodeID     string `query:"nodeId"`
	Kind       string `query:"kind"`
	After      string `query:"after"`
	Limit      int    `query:"limit" minimum:"0" maximum:"1000"`
}

type deadLettersOutput struct {
	Body baton.DeadLetterList
}

func (s *server) listDeadLetters(ctx context.Context, in *deadLettersInput) (*deadLettersOutput, error) {
	limit := page(in.Limit)
	jobs, err := s.r.DeadLetters(ctx, runner.DeadLetterFilter{InstanceID: in.InstanceID, NodeID: in.NodeID, Kind: in.Kind}, in.After, limit)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	out := &deadLettersOutput{Body: baton.DeadLetterList{DeadLetters: make([]baton.DeadLetter, 0, len(jobs))}}
	for _, j := range jobs {
		out.Body.DeadLetters = append(out.Body.DeadLetters, baton.DeadLetter{ID: j.ID, InstanceID: j.InstanceID, NodeID: j.NodeID, Kind: j.Kind,
			TaskType: j.TaskType, Attempts: j.Attempt, LastError: j.LastError, FirstFailureAt: j.FirstFailureAt, LastFailureAt: j.LastFailureAt})
	}
	if len(jobs) == limit {
		out.Body.Next = jobs[len(jobs)-1].ID
	}
	return out, nil
}

type drainInput struct {
	Body baton.DrainRequest
}

type drainOutput struct {
	Body baton.DrainResult
}

func (s *server) drainDeadLetters(ctx context.Context, in *drainInput) (*drainOutput, error) {
	n, err := s.r.DrainDeadLetters(ctx, runner.DeadLetterFilter{InstanceID: in.Body.InstanceID, NodeID: in.Body.NodeID, Kind: in.Body.Kind}, in.Body.Action, actor(ctx))
	if err != nil && n == 0 {
		return nil, fmt.Errorf("drain dead letters: %w", err)
	}
	return &drainOutput{Body: baton.DrainResult{Resolved: n}}, nil
}

func (s *server) start(ctx context.Context, in *startInput) (*instanceOutput, error) {
	req := in.Body
	vars, err := s.checkStartForm(ctx, req)
	if err != nil {
		return nil, err
	}
	req.Variables = vars
	sr := runner.StartRequest{
		DefinitionID: req.DefinitionID, Version: req.Version, Variables: req.Variables, BusinessKey: req.BusinessKey,
		Actor: actor(ctx),
	}
	if idem := idempotencyFrom(ctx); idem != nil {
		if idem.instanceID != "" {
			// A start under this key committed, and its answer was lost
			// (the server died before it was stored): answer for that
			// instance instead of starting another.
			idem.replayed = true
			return s.instanceOut(ctx, idem.instanceID)
		}
		sr.Idempotency = &idem.claim
	}
	st, _, err := s.r.StartInstance(ctx, sr)
	var inUse *runner.BusinessKeyInUseError
	if errors.As(err, &inUse) {
		return nil, newProblem(http.StatusConflict, inUse.Error())
	}
	if errors.Is(err, store.ErrNotFound) {
		if req.Version > 0 {
			return nil, fmt.Errorf("definition %q version %d is not deployed: %w", req.DefinitionID, req.Version, store.ErrNotFound)
		}
		return nil, fmt.Errorf("definition %q is not deployed: %w", req.DefinitionID, store.ErrNotFound)
	}
	if err != nil {
		if row, rerr := s.store().Definition(ctx, req.DefinitionID, req.Version); rerr == nil && !row.Format.Workflow() {
			return nil, newProblem(http.StatusBadRequest, fmt.Sprintf("%q is a %s, not a workflow: only workflows can be started", req.DefinitionID, row.Format.Noun()))
		}
		return nil, fmt.Errorf("start %s: %w", req.DefinitionID, err)
	}
	return s.instanceOut(ctx, st.InstanceID)
}

func (s *server) getInstance(ctx context.Context, in *idPath) (*instanceOutput, error) {
	out, err := s.instanceOut(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return out, s.addCalls(ctx, out.Body)
}

func (s *server) instanceOut(ctx context.Context, id string) (*instanceOutput, error) {
	inst, err := s.loadInstance(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("instance %q does not exist: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return &instanceOutput{Body: inst}, nil
}

func (s *server) recover(ctx context.Context, in *recoverInput) (*instanceOutput, error) {
	req := runner.RecoverRequest{InstanceID: in.ID, Actor: actor(ctx)}
	if b := in.Body; b != nil {
		req.IncidentID, req.Action, req.Target, req.Variables = b.IncidentID, b.Action, b.Target, b.Variables
	}
	st, err := s.r.Recover(ctx, req)
	switch {
	case errors.Is(err, runner.ErrNotFailed):
		status := "not failed"
		if row, rerr := s.store().Instance(ctx, in.ID); rerr == nil {
			status = row.Status
		}
		return nil, fmt.Errorf("instance %q is %s and has no open incident: there is nothing to recover: %w", in.ID, status, store.ErrConflict)
	case errors.Is(err, store.ErrNotFound) && req.IncidentID != "":
		if _, ierr := s.store().Instance(ctx, in.ID); ierr == nil {
			return nil, fmt.Errorf("instance %q has no open incident %q: %w", in.ID, req.IncidentID, store.ErrNotFound)
		}
		return nil, fmt.Errorf("instance %q does not exist: %w", in.ID, store.ErrNotFound)
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("instance %q does not exist: %w", in.ID, store.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("recover instance %q: %w", in.ID, err)
	}
	return s.instanceOut(ctx, st.InstanceID)
}

func (s *server) cancel(ctx context.Context, in *idPath) (*instanceOutput, error) {
	st, _, err := s.r.InstanceState(ctx, in.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("instance %q does not exist: %w", in.ID, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if st.Status.Ended() {
		return nil, newProblem(http.StatusConflict, fmt.Sprintf("instance %q has already ended (%s); only running, waiting or failed instances can be cancelled", in.ID, st.Status))
	}
	if _, err := s.r.Cancel(ctx, in.ID, actor(ctx)); err != nil {
		if errors.Is(err, engine.ErrEnded) {
			return nil, fmt.Errorf("instance %q has already ended: %w", in.ID, err)
		}
		return nil, fmt.Errorf("cancel instance %q: %w", in.ID, err)
	}
	return s.instanceOut(ctx, in.ID)
}

func (s *server) history(ctx context.Context, in *idPath) (*historyOutput, error) {
	row, err := s.store().Instance(ctx, in.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("instance %q does not exist: %w", in.ID, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	hist, err := s.r.History(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	out := &historyOutput{Body: baton.History{InstanceID: in.ID}}
	out.Body.ExecutionHistory, out.Body.Checkpoints = toHistory(hist, row)
	return out, nil
}

type messageOutput struct {
	Status int
	Body   *baton.MessageResult
}

func (s *server) message(ctx context.Context, in *messageInput) (*messageOutput, error) {
	m := in.Body
	var ttl time.Duration
	if m.TimeToLive != "" {
		d, err := model.ParseDuration(m.TimeToLive)
		if err != nil || d < 0 {
			return nil, huma.Error422UnprocessableEntity(fmt.Sprintf("timeToLive: %q is not a positive ISO 8601 duration", m.TimeToLive))
		}
		ttl = d
	}
	st, buf, err := s.r.PublishMessage(ctx, runner.Message{Name: m.Name, Key: m.CorrelationKey, ID: m.MessageID, Variables: m.Variables, TTL: ttl, Actor: actor(ctx)})
	if err == nil && buf != nil {
		return &messageOutput{Status: http.StatusAccepted, Body: &baton.MessageResult{Buffered: true, MessageID: buf.ID, ExpiresAt: buf.ExpiresAt}}, nil
	}
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, engine.ErrNoSubscription):
		if m.CorrelationKey == "" {
			return nil, fmt.Errorf("no instance waits for message %q: %w", m.Name, store.ErrNotFound)
		}
		return nil, fmt.Errorf("no instance waits for message %q with correlation key %q: %w", m.Name, m.CorrelationKey, store.ErrNotFound)
	case errors.Is(err, store.ErrConflict) && m.MessageID != "":
		return nil, fmt.Errorf("message %q was already delivered: %w", m.MessageID, store.ErrConflict)
	case err != nil:
		return nil, fmt.Errorf("deliver message %q: %w", m.Name, err)
	}
	out, err := s.instanceOut(ctx, st.InstanceID)
	if err != nil {
		return nil, err
	}
	return &messageOutput{Status: http.StatusOK, Body: &baton.MessageResult{Instance: out.Body}}, nil
}

func (s *server) listIncidents(ctx context.Context, in *incidentsInput) (*incidentsOutput, error) {
	limit := page(in.Limit)
	rows, err := s.store().Incidents(ctx, store.IncidentFilter{
		State: in.State, InstanceID: in.InstanceID, DefinitionID: in.DefinitionID, NodeID: in.NodeID, Message: in.Message, After: in.After, Limit: limit,
	})
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	out := &incidentsOutput{Body: baton.IncidentList{Incidents: make([]baton.Incident, 0, len(rows))}}
	for _, i := range rows {
		out.Body.Incidents = append(out.Body.Incidents, toIncident(i))
	}
	if len(rows) == limit {
		out.Body.Next = rows[len(rows)-1].ID
	}
	return out, nil
}
