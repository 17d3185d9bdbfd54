package llmtask

import (
	"context"
	"time"

	"github.com/batonhq/baton/internal/store"
)

// Store is what the LLM handlers need of the store: they record every
// model call, read an instance's past decisions for budgets and advice,
// and attach advice to incidents. Any store.Store is one; declaring only
// these keeps the handlers from growing into the store's other duties.
type Store interface {
	InsertDecision(ctx context.Context, d store.DecisionRow) error
	Decisions(ctx context.Context, instanceID string) ([]store.DecisionRow, error)
	DecisionTokens(ctx context.Context, definitionID string, since time.Time) (int64, error)
	Instance(ctx context.Context, id string) (store.InstanceRow, error)
	History(ctx context.Context, instanceID string) ([]store.HistoryRow, error)
	SetIncidentAdvice(ctx context.Context, id string, advice []byte) error
}
