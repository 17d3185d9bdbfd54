package runner

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/store"
)

// History returns an instance's history rows.
func (r *Runner) History(ctx context.Context, id string) ([]store.HistoryRow, error) {
	return r.st.History(ctx, id)
}

// InstanceState loads an instance's current state.
func (r *Runner) InstanceState(ctx context.Context, id string) (*engine.State, store.InstanceRow, error) {
	row, err := r.st.Instance(ctx, id)
	if err != nil {
		return nil, row, err
	}
	st, err := decodeState(row.State)
	return st, row, err
}

func decodeState(b []byte) (*engine.State, error) {
	var st engine.State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("decode state: %w", err)
	}
	return &st, nil
}
