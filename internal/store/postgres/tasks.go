package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/batonhq/baton/internal/store"
)

// Task returns one user task.
func (s *Store) Task(ctx context.Context, id string) (store.TaskRow, error) {
	t, err := scanTask(s.pool.QueryRow(ctx, `SELECT `+store.TaskColumns+` FROM tasks WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.TaskRow{}, fmt.Errorf("task %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.TaskRow{}, fmt.Errorf("task %s: %w", id, err)
	}
	return t, nil
}

// Tasks lists user tasks by id. Candidate filters use array containment
// (@>, &&) so the GIN indexes on the candidate columns apply.
func (s *Store) Tasks(ctx context.Context, f store.TaskFilter) ([]store.TaskRow, error) {
	if err := f.CheckTaskQuery(); err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	var w where
	state := f.State
	if state == "" {
		state = store.TaskOpen
	}
	w.add("state = ?", state)
	if f.InstanceID != "" {
		w.add("instance_id = ?", f.InstanceID)
	}
	if f.DefinitionID != "" {
		w.add("definition_id = ?", f.DefinitionID)
	}
	if f.Assignee != "" {
		w.add("assignee = ?", f.Assignee)
	}
	if f.Group != "" {
		w.add("candidate_groups @> ?::text[]", []string{f.Group})
	}
	switch {
	case f.User != "" && len(f.Groups) > 0:
		w.add(`(assignee = ? OR (assignee = '' AND (candidate_users @> ?::text[] OR candidate_groups && ?::text[])))`,
			f.User, []string{f.User}, f.Groups)
	case f.User != "":
		w.add(`(assignee = ? OR (assignee = '' AND candidate_users @> ?::text[]))`, f.User, []string{f.User})
	case len(f.Groups) > 0:
		w.add(`(assignee = '' AND candidate_groups && ?::text[])`, f.Groups)
	}
	if !f.DueBefore.IsZero() {
		w.add("due_at < ?", tm(f.DueBefore))
	}
	conds, order := store.TaskQuery(&f, "ILIKE", tm)
	for _, c := range conds {
		w.add(c.SQL, c.Args...)
	}
	q := `SELECT ` + store.TaskColumns + ` FROM tasks` + w.String() + order + ` LIMIT `
	q += w.next(store.ListLimit(f.Limit))
	rows, err := s.pool.Query(ctx, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	out, err := scanAll(rows, scanTask)
	if err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	return out, nil
}

// UpdateTaskAssignment sets the assignee of an open task ("" unclaims).
func (s *Store) UpdateTaskAssignment(ctx context.Context, id, assignee string) error {
	err := s.guardedUpdate(ctx, "tasks", id, `UPDATE tasks SET assignee = $1
		WHERE id = $2 AND state = 'open'`, assignee, id)
	if err != nil {
		return fmt.Errorf("assign task %s to %q: %w", id, assignee, err)
	}
	return nil
}
