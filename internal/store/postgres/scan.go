package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/batonhq/baton/internal/store"
)

// tm is a time's stored form: UTC truncated to the microsecond (what
// timestamptz keeps), NULL for the zero time.
func tm(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return store.Stored(t)
}

// strs is a list's stored form: never NULL.
func strs(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// timeCol scans a timestamptz back into a UTC time (NULL: the zero time).
type timeCol struct{ t *time.Time }

func (c timeCol) ScanTimestamptz(v pgtype.Timestamptz) error {
	if !v.Valid {
		*c.t = time.Time{}
		return nil
	}
	if v.InfinityModifier != pgtype.Finite {
		return fmt.Errorf("infinite timestamp")
	}
	*c.t = v.Time.UTC()
	return nil
}

// dbErr maps driver errors to the store's sentinels: a unique violation,
// a serialization failure or a deadlock is a lost race, so ErrConflict.
func dbErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505", "40001", "40P01":
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		}
	}
	return err
}

// expectOne turns a guarded single-row statement's command tag into nil
// (one row changed) or ErrConflict.
func expectOne(ct pgconn.CommandTag) error {
	if ct.RowsAffected() == 0 {
		return store.ErrConflict
	}
	return nil
}

// guardMiss is the error of a guarded single-row update that changed
// nothing: ErrNotFound when the row is missing, else ErrConflict.
func guardMiss(ctx context.Context, q pgxQuerier, table, id string) error {
	var one int
	err := q.QueryRow(ctx, "SELECT 1 FROM "+table+" WHERE id = $1", id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	return store.ErrConflict
}

type pgxQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// scanAll collects the rows of a query with scan.
func scanAll[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
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

// insertInto is the INSERT of one row of table with the columns cols (a
// store.*Columns list), one placeholder each ($1, $2, ...): a new column
// needs no placeholder counted by hand.
func insertInto(table, cols string) string {
	n := strings.Count(cols, ",") + 1
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + cols + ") VALUES (")
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(i))
	}
	b.WriteString(")")
	return b.String()
}

// where builds a conjunction of conditions; each "?" in a condition becomes
// the next $n placeholder.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	var b strings.Builder
	for _, r := range cond {
		if r == '?' {
			w.args = append(w.args, nil)
			b.WriteString("$" + strconv.Itoa(len(w.args)))
			continue
		}
		b.WriteRune(r)
	}
	copy(w.args[len(w.args)-len(args):], args)
	w.conds = append(w.conds, b.String())
}

// next returns the placeholder of one more argument.
func (w *where) next(arg any) string {
	w.args = append(w.args, arg)
	return "$" + strconv.Itoa(len(w.args))
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}
