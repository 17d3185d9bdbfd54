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

// Instances lists instances by id.
func (s *Store) Instances(ctx context.Context, f store.InstanceFilter) ([]store.InstanceRow, error) {
	var w where
	if f.Status != "" {
		w.add("status = ?", f.Status)
	}
	if f.DefinitionID != "" {
		w.add("definition_id = ?", f.DefinitionID)
	}
	if f.BusinessKey != "" {
		w.add("business_key = ?", f.BusinessKey)
	}
	if f.ParentID != "" {
		w.add("parent_id = ?", f.ParentID)
	}
	if f.After != "" {
		w.add("id > ?", f.After)
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+store.InstanceColumns+` FROM instances`+w.String()+
		` ORDER BY id LIMIT ?`, append(w.args, store.ListLimit(f.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("instances: %w", err)
	}
	out, err := scanAll(rows, scanInstance)
	if err != nil {
		return nil, fmt.Errorf("instances: %w", err)
	}
	return out, nil
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
