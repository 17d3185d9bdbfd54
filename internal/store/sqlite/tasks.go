package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/batonhq/baton/internal/store"
)

// Task returns one user task.
func (s *Store) Task(ctx context.Context, id string) (store.TaskRow, error) {
	t, err := scanTask(s.rdb.QueryRowContext(ctx, `SELECT `+store.TaskColumns+` FROM tasks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.TaskRow{}, fmt.Errorf("task %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.TaskRow{}, fmt.Errorf("task %s: %w", id, err)
	}
	return t, nil
}

// Tasks lists user tasks, by id or in f's sort order.
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
		w.add(`EXISTS (SELECT 1 FROM task_candidates c
			WHERE c.kind = 'group' AND c.name = ? AND c.task_id = tasks.id)`, f.Group)
	}
	if f.User != "" || len(f.Groups) > 0 {
		// Assigned to the user, or unassigned with the user or one of the
		// groups among the candidates.
		var (
			alts []string
			args []any
		)
		if f.User != "" {
			alts = append(alts, `EXISTS (SELECT 1 FROM task_candidates c
				WHERE c.kind = 'user' AND c.name = ? AND c.task_id = tasks.id)`)
			args = append(args, f.User)
		}
		if len(f.Groups) > 0 {
			alts = append(alts, `EXISTS (SELECT 1 FROM task_candidates c
				WHERE c.kind = 'group' AND c.name IN (`+placeholders(len(f.Groups))+`) AND c.task_id = tasks.id)`)
			args = append(args, anys(f.Groups)...)
		}
		cond := "(assignee = '' AND (" + alts[0]
		if len(alts) > 1 {
			cond += " OR " + alts[1]
		}
		cond += "))"
		if f.User != "" {
			cond = "(assignee = ? OR " + cond + ")"
			args = append([]any{f.User}, args...)
		}
		w.add(cond, args...)
	}
	if !f.DueBefore.IsZero() {
		w.add("due_at IS NOT NULL AND due_at < ?", tm(f.DueBefore))
	}
	conds, order := store.TaskQuery(&f, "LIKE", tm)
	for _, c := range conds {
		w.add(c.SQL, c.Args...)
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+store.TaskColumns+` FROM tasks`+w.String()+
		order+` LIMIT ? + 0`, append(w.args, store.ListLimit(f.Limit))...)
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
	err := s.guardedUpdate(ctx, "tasks", id, `UPDATE tasks SET assignee = ?
		WHERE id = ? AND state = 'open'`, assignee, id)
	if err != nil {
		return fmt.Errorf("assign task %s to %q: %w", id, assignee, err)
	}
	return nil
}
