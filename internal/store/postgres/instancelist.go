package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/batonhq/baton/internal/store"
)

// Instances lists the instances f matches, one page in f's order.
func (s *Store) Instances(ctx context.Context, f store.InstanceFilter) ([]store.InstanceRow, error) {
	if err := f.Check(); err != nil {
		return nil, fmt.Errorf("instances: %w", err)
	}
	w := instanceWhere(f)
	col, dir, cmp := f.Sort.Column(), "ASC", ">"
	if f.Desc {
		dir, cmp = "DESC", "<"
	}
	switch {
	case f.Sort == "" && f.After != "":
		w.add("id > ?", f.After)
	case f.Sort != "" && f.Cursor != nil && col == "id":
		w.add("id "+cmp+" ?", f.Cursor.ID)
	case f.Sort != "" && f.Cursor != nil:
		w.add("("+col+", id) "+cmp+" (?, ?)", f.Cursor.Value, f.Cursor.ID)
	}
	order := " ORDER BY " + col + " " + dir
	if col != "id" {
		order += ", id " + dir
	}
	q := `SELECT ` + store.InstanceColumns + ` FROM instances` + w.String() + order + ` LIMIT `
	q += w.next(store.ListLimit(f.Limit))
	rows, err := s.pool.Query(ctx, q, w.args...)
	if err != nil {
		return nil, fmt.Errorf("instances: %w", err)
	}
	out, err := scanAll(rows, scanInstance)
	if err != nil {
		return nil, fmt.Errorf("instances: %w", err)
	}
	return out, nil
}

// CountInstances counts the instances f matches, every page.
func (s *Store) CountInstances(ctx context.Context, f store.InstanceFilter) (int, error) {
	if err := f.Check(); err != nil {
		return 0, fmt.Errorf("count instances: %w", err)
	}
	w := instanceWhere(f)
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM instances`+w.String(), w.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count instances: %w", err)
	}
	return n, nil
}

// instanceWhere is the condition of f without its page position.
func instanceWhere(f store.InstanceFilter) where {
	var w where
	if f.Status != "" {
		w.add("status = ?", f.Status)
	}
	if f.DefinitionID != "" {
		w.add("definition_id = ?", f.DefinitionID)
		if f.DefinitionVersion > 0 {
			w.add("definition_version = ?", f.DefinitionVersion)
		}
	}
	if f.BusinessKey != "" {
		w.add("business_key = ?", f.BusinessKey)
	}
	if f.ParentID != "" {
		w.add("parent_id = ?", f.ParentID)
	}
	if p := f.BusinessKeyPrefix; p != "" {
		// A prefix LIKE uses the text_pattern_ops index (migration 8);
		// the <> '' term lets the partial index apply.
		w.add("business_key <> ''")
		w.add(`business_key LIKE ?`, store.LikePrefix(p))
	}
	timeRange(&w, "created_at", f.StartedFrom, f.StartedBefore)
	timeRange(&w, "ended_at", f.EndedFrom, f.EndedBefore)
	if f.Sort == store.SortEnded {
		w.add("ended_at IS NOT NULL")
	}
	if f.HasIncident != nil {
		not := ""
		if !*f.HasIncident {
			not = "NOT "
		}
		w.add("id " + not + "IN (SELECT instance_id FROM incidents WHERE state = 'open')")
	}
	if f.ErrorText != "" {
		w.add(`id IN (SELECT instance_id FROM incidents WHERE state = 'open' AND message ILIKE ?)`,
			store.LikeContains(f.ErrorText))
	}
	for _, c := range f.Vars {
		addVarCond(&w, c)
	}
	return w
}

func timeRange(w *where, col string, from, before time.Time) {
	if !from.IsZero() {
		w.add(col+" >= ?", from)
	}
	if !before.IsZero() {
		w.add(col+" < ?", before)
	}
}

// addVarCond adds one variable condition. The state is parsed once per
// condition and row (the sub-select), not once per reference to the value.
func addVarCond(w *where, c store.VarCond) {
	const v = "x.v"
	var cond string
	var args []any
	op := c.Op
	if op == "!=" {
		op = "="
	}
	switch val := c.Value.(type) {
	case json.Number:
		// CASE, not AND: PostgreSQL may evaluate the cast of a string
		// before the type test.
		cond, args = "CASE WHEN jsonb_typeof("+v+") = 'number' THEN "+v+"::numeric "+op+" ?::numeric ELSE FALSE END", []any{string(val)}
	case string:
		cond, args = "jsonb_typeof("+v+") = 'string' AND ("+v+" #>> '{}') "+op+" ?", []any{val}
	case bool:
		cond = "jsonb_typeof(" + v + ") = 'boolean' AND " + v + " = '" + strconv.FormatBool(val) + "'::jsonb"
	default:
		cond = "jsonb_typeof(" + v + ") = 'null'"
	}
	if c.Op == "!=" {
		cond = "NOT COALESCE((" + cond + "), FALSE)"
	}
	w.add("(SELECT "+cond+" FROM (SELECT convert_from(state, 'UTF8')::jsonb #> ?::text[] AS v) x)", append(args, c.StatePath())...)
}
