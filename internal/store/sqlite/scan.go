package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/batonhq/baton/internal/store"
)

// tm is a time's stored form: UTC unix microseconds, NULL for the zero time.
func tm(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// timeCol scans a stored time back (NULL: the zero time).
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMicro(x).UTC()
	default:
		return fmt.Errorf("time column holds %T", v)
	}
	return nil
}

// strCol scans nullable text into a string (NULL: "").
type strCol struct{ s *string }

func (c strCol) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*c.s = ""
	case string:
		*c.s = x
	case []byte:
		*c.s = string(x)
	default:
		return fmt.Errorf("text column holds %T", v)
	}
	return nil
}

// bytesCol scans a blob into a fresh []byte (NULL: nil).
type bytesCol struct{ b *[]byte }

func (c bytesCol) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*c.b = nil
	case []byte:
		*c.b = append([]byte(nil), x...)
	case string:
		*c.b = []byte(x)
	default:
		return fmt.Errorf("blob column holds %T", v)
	}
	return nil
}

// listCol scans a JSON array of strings (empty: nil).
type listCol struct{ l *[]string }

func (c listCol) Scan(v any) error {
	var b []byte
	switch x := v.(type) {
	case nil:
		*c.l = nil
		return nil
	case string:
		b = []byte(x)
	case []byte:
		b = x
	default:
		return fmt.Errorf("list column holds %T", v)
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("list column: %w", err)
	}
	if len(l) == 0 {
		l = nil
	}
	*c.l = l
	return nil
}

func jsonList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, err := json.Marshal(l)
	if err != nil { // cannot happen for []string
		return "[]"
	}
	return string(b)
}

// isUnique reports whether err is a primary key or unique violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return true
		}
	}
	return false
}

// dbErr maps driver errors to the store's sentinels: a primary key or unique
// violation is a lost race, so ErrConflict.
func dbErr(err error) error {
	if isUnique(err) {
		return fmt.Errorf("%w: %v", store.ErrConflict, err)
	}
	return err
}

// insertInto is the INSERT of one row of table with the columns cols (a
// store.*Columns list), one placeholder each: a new column needs no
// placeholder counted by hand.
func insertInto(table, cols string) string {
	return "INSERT INTO " + table + " (" + cols + ") VALUES (" + placeholders(strings.Count(cols, ",")+1) + ")"
}

// placeholders returns "?, ?, ..." for n arguments.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

func anys[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// queryer is what both *sql.DB and *sql.Tx offer for reads.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// exists reports whether a row with id exists in table; guarded updates use
// it to tell ErrNotFound from ErrConflict after touching no row.
func exists(ctx context.Context, q queryer, table, id string) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, "SELECT 1 FROM "+table+" WHERE id = ?", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// guardMiss is the error of a guarded single-row update that changed
// nothing: ErrNotFound when the row is missing, else ErrConflict.
func guardMiss(ctx context.Context, q queryer, table, id string) error {
	ok, err := exists(ctx, q, table, id)
	if err != nil {
		return err
	}
	if !ok {
		return store.ErrNotFound
	}
	return store.ErrConflict
}

// scanAll collects the rows of a query with scan.
func scanAll[T any](rows *sql.Rows, scan func(rowScanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// where builds a conjunction of conditions with their arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}
