package postgres

import (
	"github.com/jackc/pgx/v5"

	"github.com/batonhq/baton/internal/store"
)

type rowScanner = pgx.Row

const definitionCols = `id, version, name, format, source, hash, deployed_at, deployed_by`

func scanDefinition(r rowScanner) (store.DefinitionRow, error) {
	var d store.DefinitionRow
	err := r.Scan(&d.ID, &d.Version, &d.Name, &d.Format, &d.Source, &d.Hash,
		timeCol{&d.DeployedAt}, &d.DeployedBy)
	return d, err
}

const instanceCols = `id, definition_id, definition_version, business_key, status, state,
	version, created_at, updated_at, ended_at`

func scanInstance(r rowScanner) (store.InstanceRow, error) {
	var i store.InstanceRow
	err := r.Scan(&i.ID, &i.DefinitionID, &i.DefinitionVersion, &i.BusinessKey, &i.Status,
		&i.State, &i.Version, timeCol{&i.CreatedAt}, timeCol{&i.UpdatedAt}, timeCol{&i.EndedAt})
	return i, err
}

const historyCols = `instance_id, seq, node_id, node_type, action, time, result, actor, checkpoint`

func scanHistory(r rowScanner) (store.HistoryRow, error) {
	var h store.HistoryRow
	err := r.Scan(&h.InstanceID, &h.Seq, &h.NodeID, &h.NodeType, &h.Action, timeCol{&h.Time},
		&h.Result, &h.Actor, &h.Checkpoint)
	return h, err
}

const commandCols = `instance_id, seq, command, created_at`

func scanCommand(r rowScanner) (store.CommandRow, error) {
	var c store.CommandRow
	err := r.Scan(&c.InstanceID, &c.Seq, &c.Command, timeCol{&c.CreatedAt})
	return c, err
}

const jobCols = `id, instance_id, kind, node_id, task_type, state, attempt, max_attempts, run_at,
	lease_owner, lease_until, last_error, payload, created_at, first_failure_at, last_failure_at`

func scanJob(r rowScanner) (store.JobRow, error) {
	var j store.JobRow
	err := r.Scan(&j.ID, &j.InstanceID, &j.Kind, &j.NodeID, &j.TaskType, &j.State, &j.Attempt,
		&j.MaxAttempts, timeCol{&j.RunAt}, &j.LeaseOwner, timeCol{&j.LeaseUntil}, &j.LastError,
		&j.Payload, timeCol{&j.CreatedAt}, timeCol{&j.FirstFailureAt}, timeCol{&j.LastFailureAt})
	return j, err
}

const taskCols = `id, instance_id, definition_id, node_id, name, assignee, candidate_users,
	candidate_groups, due_at, follow_up_at, form_key, state, payload, created_at, completed_at,
	completed_by`

func scanTask(r rowScanner) (store.TaskRow, error) {
	var t store.TaskRow
	err := r.Scan(&t.ID, &t.InstanceID, &t.DefinitionID, &t.NodeID, &t.Name, &t.Assignee,
		&t.CandidateUsers, &t.CandidateGroups, timeCol{&t.DueAt},
		timeCol{&t.FollowUpAt}, &t.FormKey, &t.State, &t.Payload, timeCol{&t.CreatedAt},
		timeCol{&t.CompletedAt}, &t.CompletedBy)
	if len(t.CandidateUsers) == 0 {
		t.CandidateUsers = nil
	}
	if len(t.CandidateGroups) == 0 {
		t.CandidateGroups = nil
	}
	return t, err
}

const subscriptionCols = `id, instance_id, node_id, kind, name, key, created_at`

func scanSubscription(r rowScanner) (store.SubscriptionRow, error) {
	var s store.SubscriptionRow
	err := r.Scan(&s.ID, &s.InstanceID, &s.NodeID, &s.Kind, &s.Name, &s.Key, timeCol{&s.CreatedAt})
	return s, err
}

const incidentCols = `id, instance_id, definition_id, node_id, job_id, kind, message, attempts,
	state, advice, created_at, first_failure_at, last_failure_at, resolved_at, resolved_by`

func scanIncident(r rowScanner) (store.IncidentRow, error) {
	var i store.IncidentRow
	err := r.Scan(&i.ID, &i.InstanceID, &i.DefinitionID, &i.NodeID, &i.JobID, &i.Kind, &i.Message,
		&i.Attempts, &i.State, &i.Advice, timeCol{&i.CreatedAt}, timeCol{&i.FirstFailureAt},
		timeCol{&i.LastFailureAt}, timeCol{&i.ResolvedAt}, &i.ResolvedBy)
	return i, err
}

const outboxCols = `id, instance_id, event, channel, target, payload, state, attempts, run_at,
	last_error, created_at, sent_at, lease_owner, lease_until`

func scanOutbox(r rowScanner) (store.OutboxRow, error) {
	var o store.OutboxRow
	err := r.Scan(&o.ID, &o.InstanceID, &o.Event, &o.Channel, &o.Target, &o.Payload,
		&o.State, &o.Attempts, timeCol{&o.RunAt}, &o.LastError, timeCol{&o.CreatedAt},
		timeCol{&o.SentAt}, &o.LeaseOwner, timeCol{&o.LeaseUntil})
	return o, err
}

const decisionCols = `id, instance_id, node_id, job_id, provider, model, request, response,
	decision, input_tokens, output_tokens, latency_ms, cost_micros, created_at`

func scanDecision(r rowScanner) (store.DecisionRow, error) {
	var d store.DecisionRow
	err := r.Scan(&d.ID, &d.InstanceID, &d.NodeID, &d.JobID, &d.Provider, &d.Model,
		&d.Request, &d.Response, &d.Decision, &d.InputTokens,
		&d.OutputTokens, &d.LatencyMS, &d.CostMicros, timeCol{&d.CreatedAt})
	return d, err
}

const messageCols = `id, name, key, variables, created_at, expires_at`

func scanMessage(r rowScanner) (store.MessageRow, error) {
	var m store.MessageRow
	err := r.Scan(&m.ID, &m.Name, &m.Key, &m.Variables, timeCol{&m.CreatedAt},
		timeCol{&m.ExpiresAt})
	return m, err
}
