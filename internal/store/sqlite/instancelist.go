package sqlite

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
		v := f.Cursor.Value
		if t, ok := v.(time.Time); ok {
			v = tm(t)
		}
		w.add("("+col+", id) "+cmp+" (?, ?)", v, f.Cursor.ID)
	}
	order := " ORDER BY " + col + " " + dir
	if col != "id" {
		order += ", id " + dir
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+store.InstanceColumns+` FROM instances`+w.String()+
		order+` LIMIT ? + 0`, append(w.args, store.ListLimit(f.Limit))...)
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
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM instances`+w.String(), w.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count instances: %w", err)
	}
	return n, nil
}

// instanceWhere is the condition of f without its page position. The
// state is JSON text in a BLOB column; SQLite reads a BLOB given to its
// JSON functions as JSONB, hence the CAST.
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
		// A range on the binary collation uses the business_key index;
		// LIKE would not (it ignores ASCII case). The <> '' term lets
		// the partial index apply.
		w.add("business_key <> ''")
		w.add("business_key >= ?", p)
		if hi, ok := prefixEnd(p); ok {
			w.add("business_key < ?", hi)
		}
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
		w.add(`id IN (SELECT instance_id FROM incidents WHERE state = 'open' AND message LIKE ? ESCAPE '\')`,
			store.LikeContains(f.ErrorText))
	}
	for _, c := range f.Vars {
		addVarCond(&w, c)
	}
	return w
}

func timeRange(w *where, col string, from, before time.Time) {
	if !from.IsZero() {
		w.add(col+" >= ?", tm(from))
	}
	if !before.IsZero() {
		w.add(col+" < ?", tm(before))
	}
}

// prefixEnd is the least string above every string that starts with p
// (bytewise), false when there is none (p is all 0xFF bytes).
func prefixEnd(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xFF {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

const stateText = "CAST(state AS TEXT)"

func addVarCond(w *where, c store.VarCond) {
	p := c.JSONPath()
	typ := "json_type(" + stateText + ", ?)"
	val := "json_extract(" + stateText + ", ?)"
	var cond string
	var args []any
	op := c.Op
	if op == "!=" {
		op = "="
	}
	switch v := c.Value.(type) {
	case json.Number:
		f, _ := strconv.ParseFloat(string(v), 64)
		cond, args = typ+" IN ('integer', 'real') AND "+val+" "+op+" ?", []any{p, p, f}
	case string:
		cond, args = typ+" = 'text' AND "+val+" "+op+" ?", []any{p, p, v}
	case bool:
		cond, args = typ+" = '"+strconv.FormatBool(v)+"'", []any{p}
	default:
		cond, args = typ+" = 'null'", []any{p}
	}
	if c.Op == "!=" {
		cond = "NOT COALESCE((" + cond + "), FALSE)"
	}
	w.add(cond, args...)
}
