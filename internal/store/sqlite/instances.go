package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/batonhq/baton/internal/store"
)

// Instance returns an instance's current checkpoint.
func (s *Store) Instance(ctx context.Context, id string) (store.InstanceRow, error) {
	i, err := scanInstance(s.rdb.QueryRowContext(ctx, `SELECT `+store.InstanceColumns+`
		FROM instances WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.InstanceRow{}, fmt.Errorf("instance %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.InstanceRow{}, fmt.Errorf("instance %s: %w", id, err)
	}
	return i, nil
}

// History returns an instance's history by seq.
func (s *Store) History(ctx context.Context, instanceID string) ([]store.HistoryRow, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+store.HistoryColumns+` FROM history
		WHERE instance_id = ? ORDER BY seq`, instanceID)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", instanceID, err)
	}
	out, err := scanAll(rows, scanHistory)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", instanceID, err)
	}
	return out, nil
}

// Commands returns the commands recorded for an instance, by seq.
func (s *Store) Commands(ctx context.Context, instanceID string) ([]store.CommandRow, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+store.CommandColumns+` FROM commands
		WHERE instance_id = ? ORDER BY seq`, instanceID)
	if err != nil {
		return nil, fmt.Errorf("commands of %s: %w", instanceID, err)
	}
	out, err := scanAll(rows, scanCommand)
	if err != nil {
		return nil, fmt.Errorf("commands of %s: %w", instanceID, err)
	}
	return out, nil
}
