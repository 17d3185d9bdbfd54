package postgres

import (
	"github.com/jackc/pgx/v5"

	"github.com/batonhq/baton/internal/store"
)

// The scanners read the columns of store.*Columns, in their order.

type rowScanner = pgx.Row

func scanDefinition(r rowScanner) (store.DefinitionRow, error) {
	var d store.DefinitionRow
	err := r.Scan(&d.ID, &d.Version, &d.Name, &d.Format, &d.Source, &d.Hash,
		timeCol{&d.DeployedAt}, &d.DeployedBy)
	return d, err
}

func scanInstance(r rowScanner) (store.InstanceRow, error) {
	var i store.InstanceRow
	err := r.Scan(&i.ID, &i.DefinitionID, &i.DefinitionVersion, &i.BusinessKey, &i.Status,
		&i.State, &i.Version, timeCol{&i.CreatedAt}, timeCol{&i.UpdatedAt}, timeCol{&i.EndedAt},
		&i.ParentID, &i.ParentNode, &i.ParentJob)
	return i, err
}

func scanHistory(r rowScanner) (store.HistoryRow, error) {
	var h store.HistoryRow
	err := r.Scan(&h.InstanceID, &h.Seq, &h.NodeID, &h.NodeType, &h.Action, timeCol{&h.Time},
		&h.Result, &h.Actor, &h.Checkpoint)
	return h, err
}

func scanCommand(r rowScanner) (store.CommandRow, error) {
	var c store.CommandRow
	err := r.Scan(&c.InstanceID, &c.Seq, &c.Command, timeCol{&c.CreatedAt})
	return c, err
}

func scanJob(r rowScanner) (store.JobRow, error) {
	var j store.JobRow
	err := r.Scan(&j.ID, &j.InstanceID, &j.Kind, &j.NodeID, &j.TaskType, &j.State, &j.Attempt,
		&j.MaxAttempts, timeCol{&j.RunAt}, &j.LeaseOwner, timeCol{&j.LeaseUntil}, &j.LastError,
		&j.Payload, timeCol{&j.CreatedAt}, timeCol{&j.FirstFailureAt}, timeCol{&j.LastFailureAt}, &j.LeaseExpiries)
	return j, err
}

func scanTask(r rowScanner) (store.TaskRow, error) {
	var t store.TaskRow
	err := r.Scan(&t.ID, &t.InstanceID, &t.DefinitionID, &t.NodeID, &t.Name, &t.Assignee,
		&t.CandidateUsers, &t.CandidateGroups, timeCol{&t.DueAt},
		timeCol{&t.FollowUpAt}, &t.FormKey, &t.State, &t.Payload, timeCol{&t.CreatedAt},
		timeCol{&t.CompletedAt}, &t.CompletedBy, &t.Priority)
	if len(t.CandidateUsers) == 0 {
		t.CandidateUsers = nil
	}
	if len(t.CandidateGroups) == 0 {
		t.CandidateGroups = nil
	}
	return t, err
}

func scanSubscription(r rowScanner) (store.SubscriptionRow, error) {
	var s store.SubscriptionRow
	err := r.Scan(&s.ID, &s.InstanceID, &s.NodeID, &s.Kind, &s.Name, &s.Key, timeCol{&s.CreatedAt})
	return s, err
}

func scanIncident(r rowScanner) (store.IncidentRow, error) {
	var i store.IncidentRow
	err := r.Scan(&i.ID, &i.InstanceID, &i.DefinitionID, &i.NodeID, &i.JobID, &i.Kind, &i.Message,
		&i.Attempts, &i.State, &i.Advice, timeCol{&i.CreatedAt}, timeCol{&i.FirstFailureAt},
		timeCol{&i.LastFailureAt}, timeCol{&i.ResolvedAt}, &i.ResolvedBy)
	return i, err
}

func scanOutbox(r rowScanner) (store.OutboxRow, error) {
	var o store.OutboxRow
	err := r.Scan(&o.ID, &o.InstanceID, &o.Event, &o.Channel, &o.Target, &o.Payload,
		&o.State, &o.Attempts, timeCol{&o.RunAt}, &o.LastError, timeCol{&o.CreatedAt},
		timeCol{&o.SentAt}, &o.LeaseOwner, timeCol{&o.LeaseUntil})
	return o, err
}

func scanDecision(r rowScanner) (store.DecisionRow, error) {
	var d store.DecisionRow
	err := r.Scan(&d.ID, &d.InstanceID, &d.NodeID, &d.JobID, &d.Provider, &d.Model,
		&d.Request, &d.Response, &d.Decision, &d.InputTokens,
		&d.OutputTokens, &d.LatencyMS, &d.CostMicros, timeCol{&d.CreatedAt})
	return d, err
}

func scanMessage(r rowScanner) (store.MessageRow, error) {
	var m store.MessageRow
	err := r.Scan(&m.ID, &m.Name, &m.Key, &m.Variables, timeCol{&m.CreatedAt},
		timeCol{&m.ExpiresAt})
	return m, err
}
