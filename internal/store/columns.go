package store

// The columns of each table, in the order the implementations write and
// scan them. Both dialects' schemas have the same columns (only their
// types differ), so a new field is added to its list here once; each
// implementation's scanner and insert follow this order.
const (
	DefinitionColumns = `id, version, name, format, source, hash, deployed_at, deployed_by`

	InstanceColumns = `id, definition_id, definition_version, business_key, status, state,
	version, created_at, updated_at, ended_at, parent_id, parent_node, parent_job`

	HistoryColumns = `instance_id, seq, node_id, node_type, action, time, result, actor, checkpoint`

	CommandColumns = `instance_id, seq, command, created_at`

	JobColumns = `id, instance_id, kind, node_id, task_type, state, attempt, max_attempts, run_at,
	lease_owner, lease_until, last_error, payload, created_at, first_failure_at, last_failure_at, lease_expiries`

	IdempotencyColumns = `caller, key, request_hash, method, path, token, locked_until, instance_id,
	status, content_type, body, created_at, expires_at`

	TaskColumns = `id, instance_id, definition_id, node_id, name, assignee, candidate_users,
	candidate_groups, due_at, follow_up_at, form_key, state, payload, created_at, completed_at,
	completed_by, priority`

	SubscriptionColumns = `id, instance_id, node_id, kind, name, key, created_at`

	IncidentColumns = `id, instance_id, definition_id, node_id, job_id, kind, message, attempts,
	state, advice, created_at, first_failure_at, last_failure_at, resolved_at, resolved_by`

	OutboxColumns = `id, instance_id, event, channel, target, payload, state, attempts, run_at,
	last_error, created_at, sent_at, lease_owner, lease_until`

	DecisionColumns = `id, instance_id, node_id, job_id, provider, model, request, response,
	decision, input_tokens, output_tokens, latency_ms, cost_micros, created_at`

	MessageColumns = `id, name, key, variables, created_at, expires_at`
)

// The batch tables' columns (batch.go).
const (
	BatchColumns = `id, kind, request, state, total, done, failed, created_by, created_at, updated_at,
	finished_at, lease_owner, lease_until`

	BatchItemColumns = `batch_id, pos, instance_id, state, error, updated_at`
)
