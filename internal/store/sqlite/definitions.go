package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/batonhq/baton/internal/store"
)

// Deploy stores a new version of a definition unless the latest version has
// the same hash. An empty Hash is computed from Source.
func (s *Store) Deploy(ctx context.Context, d store.DefinitionRow) (store.DefinitionRow, bool, error) {
	if err := store.PrepareDefinition(&d); err != nil {
		return store.DefinitionRow{}, false, err
	}
	var (
		out     store.DefinitionRow
		created bool
	)
	err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		latest, err := scanDefinition(tx.QueryRowContext(ctx, `SELECT `+store.DefinitionColumns+`
			FROM definitions WHERE id = ? ORDER BY version DESC LIMIT 1`, d.ID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case latest.Hash == d.Hash:
			out, created = latest, false
			return nil
		}
		row := d
		row.Version = latest.Version + 1
		if _, err := tx.ExecContext(ctx, insertInto("definitions", store.DefinitionColumns),
			row.ID, row.Version, row.Name, row.Format, row.Source, row.Hash, tm(row.DeployedAt),
			row.DeployedBy); err != nil {
			return dbErr(err)
		}
		out, created = row, true
		return nil
	})
	if err != nil {
		return store.DefinitionRow{}, false, fmt.Errorf("deploy %s: %w", d.ID, err)
	}
	return out, created, nil
}

// Definition returns one version of a definition; version 0 is the latest.
func (s *Store) Definition(ctx context.Context, id string, version int) (store.DefinitionRow, error) {
	var row *sql.Row
	if version == 0 {
		row = s.rdb.QueryRowContext(ctx, `SELECT `+store.DefinitionColumns+` FROM definitions
			WHERE id = ? ORDER BY version DESC LIMIT 1`, id)
	} else {
		row = s.rdb.QueryRowContext(ctx, `SELECT `+store.DefinitionColumns+` FROM definitions
			WHERE id = ? AND version = ?`, id, version)
	}
	d, err := scanDefinition(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.DefinitionRow{}, fmt.Errorf("definition %s version %d: %w", id, version, store.ErrNotFound)
	}
	if err != nil {
		return store.DefinitionRow{}, fmt.Errorf("definition %s version %d: %w", id, version, err)
	}
	return d, nil
}

// Definitions lists the latest version of every definition, ordered by id.
func (s *Store) Definitions(ctx context.Context) ([]store.DefinitionRow, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+store.DefinitionColumns+` FROM definitions d
		WHERE version = (SELECT max(version) FROM definitions WHERE id = d.id)
		ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("definitions: %w", err)
	}
	out, err := scanAll(rows, scanDefinition)
	if err != nil {
		return nil, fmt.Errorf("definitions: %w", err)
	}
	return out, nil
}

// DefinitionVersions lists every version of one definition, oldest first.
func (s *Store) DefinitionVersions(ctx context.Context, id string) ([]store.DefinitionRow, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+store.DefinitionColumns+` FROM definitions
		WHERE id = ? ORDER BY version`, id)
	if err != nil {
		return nil, fmt.Errorf("definition %s versions: %w", id, err)
	}
	out, err := scanAll(rows, scanDefinition)
	if err != nil {
		return nil, fmt.Errorf("definition %s versions: %w", id, err)
	}
	return out, nil
}
