package rest

import (
	"context"

	"github.com/batonhq/baton/internal/store"
)

// Store is what the API reads from the store directly: definitions,
// instances and their history, tasks, jobs, incidents and decisions, and
// a ping for /readyz. Every write goes through the runner, so that events
// and caches see it; declaring only these reads keeps it that way.
type Store interface {
	Definition(ctx context.Context, id string, version int) (store.DefinitionRow, error)
	Definitions(ctx context.Context) ([]store.DefinitionRow, error)
	DefinitionVersions(ctx context.Context, id string) ([]store.DefinitionRow, error)
	Instance(ctx context.Context, id string) (store.InstanceRow, error)
	Instances(ctx context.Context, f store.InstanceFilter) ([]store.InstanceRow, error)
	CountInstances(ctx context.Context, f store.InstanceFilter) (int, error)
	History(ctx context.Context, instanceID string) ([]store.HistoryRow, error)
	Commands(ctx context.Context, instanceID string) ([]store.CommandRow, error)
	Job(ctx context.Context, id string) (store.JobRow, error)
	Jobs(ctx context.Context, f store.JobFilter) ([]store.JobRow, error)
	Task(ctx context.Context, id string) (store.TaskRow, error)
	Tasks(ctx context.Context, f store.TaskFilter) ([]store.TaskRow, error)
	Incident(ctx context.Context, id string) (store.IncidentRow, error)
	Incidents(ctx context.Context, f store.IncidentFilter) ([]store.IncidentRow, error)
	IncidentGroups(ctx context.Context) ([]store.IncidentGroup, error)
	Decisions(ctx context.Context, instanceID string) ([]store.DecisionRow, error)
	Ping(ctx context.Context) error
}

// store is the runner's store, seen through Store.
func (s *server) store() Store { return s.r.Store() }
