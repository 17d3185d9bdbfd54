package store

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TaskSort names the field a task list is ordered by; the id breaks
// ties, so every order is total and a cursor can resume it.
type TaskSort string

// The sortable task fields. Due and completed times may be absent: a task
// without one sorts after every task with one, in both directions.
const (
	TaskSortID        TaskSort = ""
	TaskSortCreated   TaskSort = "created"
	TaskSortDue       TaskSort = "due"
	TaskSortName      TaskSort = "name"
	TaskSortCompleted TaskSort = "completed"
	TaskSortPriority  TaskSort = "priority"
)

// TaskSorts lists the sortable fields, for documentation and checks.
var TaskSorts = []TaskSort{TaskSortCreated, TaskSortDue, TaskSortName, TaskSortCompleted, TaskSortPriority}

// Known says whether s is a sort the stores understand.
func (s TaskSort) Known() bool {
	if s == TaskSortID {
		return true
	}
	for _, k := range TaskSorts {
		if k == s {
			return true
		}
	}
	return false
}

// Column is the tasks column the sort orders by.
func (s TaskSort) Column() string {
	switch s {
	case TaskSortCreated:
		return "created_at"
	case TaskSortDue:
		return "due_at"
	case TaskSortName:
		return "name"
	case TaskSortCompleted:
		return "completed_at"
	case TaskSortPriority:
		return "priority"
	}
	return "id"
}

// Nullable says whether the sort's column may be empty.
func (s TaskSort) Nullable() bool { return s == TaskSortDue || s == TaskSortCompleted }

// IsTime says whether the sort's values are times.
func (s TaskSort) IsTime() bool {
	return s == TaskSortCreated || s == TaskSortDue || s == TaskSortCompleted
}

// TaskCursor is the position of the last row of a page: its sort value
// (a time, a string, an int, or nil for a task without a due or
// completion time) and its id.
type TaskCursor struct {
	Value any
	ID    string
}

// MaxTaskSearch bounds the text of a task search.
const MaxTaskSearch = 200

// CheckTaskQuery reports the first invalid field of f's search and sort.
func (f *TaskFilter) CheckTaskQuery() error {
	if !f.Sort.Known() {
		return fmt.Errorf("sort %q: want one of %v", f.Sort, TaskSorts)
	}
	if len(f.Search) > MaxTaskSearch {
		return fmt.Errorf("search is %d bytes; the limit is %d", len(f.Search), MaxTaskSearch)
	}
	return nil
}

// TaskCursorOf is the cursor that resumes f's order after row.
func (f *TaskFilter) TaskCursorOf(row TaskRow) string {
	var v any
	switch f.Sort {
	case TaskSortCreated:
		v = timeOrNil(row.CreatedAt)
	case TaskSortDue:
		v = timeOrNil(row.DueAt)
	case TaskSortCompleted:
		v = timeOrNil(row.CompletedAt)
	case TaskSortName:
		v = row.Name
	case TaskSortPriority:
		v = row.Priority
	default:
		v = row.ID
	}
	b, _ := json.Marshal([]any{"t", string(f.Sort), f.Desc, v, row.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// ParseTaskCursor reads a cursor made by TaskCursorOf for the same sort
// and direction; a cursor of another order is an error, since it would
// skip or repeat tasks.
func (f *TaskFilter) ParseTaskCursor(s string) (*TaskCursor, error) {
	bad := errors.New("cursor is not one this API made")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var parts []any
	if err := dec.Decode(&parts); err != nil || len(parts) != 5 || parts[0] != "t" {
		return nil, bad
	}
	sort, _ := parts[1].(string)
	desc, _ := parts[2].(bool)
	id, ok := parts[4].(string)
	if !ok {
		return nil, bad
	}
	if TaskSort(sort) != f.Sort || desc != f.Desc {
		return nil, fmt.Errorf("cursor belongs to another order (sort %q, desc %v): start again from the first page", sort, desc)
	}
	c := &TaskCursor{ID: id}
	switch v := parts[3].(type) {
	case nil:
		if !f.Sort.Nullable() {
			return nil, bad
		}
	case string:
		if f.Sort.IsTime() {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return nil, bad
			}
			c.Value = t
		} else if f.Sort == TaskSortPriority {
			return nil, bad
		} else {
			c.Value = v
		}
	case json.Number:
		n, err := v.Int64()
		if err != nil || f.Sort != TaskSortPriority {
			return nil, bad
		}
		c.Value = int(n)
	default:
		return nil, bad
	}
	return c, nil
}

// TaskPage is the ordering and page condition of a task list, in SQL
// with ? placeholders, shared by the stores; val converts a cursor value
// for the driver. Tasks without a due (or completion) time come last
// whichever the direction.
func TaskPage(f *TaskFilter, val func(any) any) (cond string, args []any, order string) {
	if f.Sort == TaskSortID {
		if f.After != "" {
			return "id > ?", []any{f.After}, " ORDER BY id"
		}
		return "", nil, " ORDER BY id"
	}
	col, dir, cmp := f.Sort.Column(), "ASC", ">"
	if f.Desc {
		dir, cmp = "DESC", "<"
	}
	order = " ORDER BY "
	if f.Sort.Nullable() {
		order += "(" + col + " IS NULL), "
	}
	order += col + " " + dir + ", id " + dir
	switch {
	case f.Cursor == nil:
		return "", nil, order
	case f.Sort.Nullable() && f.Cursor.Value == nil:
		return "(" + col + " IS NULL AND id " + cmp + " ?)", []any{f.Cursor.ID}, order
	case f.Sort.Nullable():
		return "(" + col + " IS NULL OR (" + col + ", id) " + cmp + " (?, ?))", []any{val(f.Cursor.Value), f.Cursor.ID}, order
	}
	return "(" + col + ", id) " + cmp + " (?, ?)", []any{val(f.Cursor.Value), f.Cursor.ID}, order
}

// Cond is one SQL condition with ? placeholders and its arguments.
type Cond struct {
	SQL  string
	Args []any
}

// TaskQuery is the SQL the stores share for f's completed-by filter,
// search and page, and its ORDER BY. like is the operator that ignores
// case (LIKE in SQLite, for ASCII; ILIKE in PostgreSQL); tm converts a
// time for the driver. The instance and definition of the search are
// looked up by key for each task the other conditions leave.
func TaskQuery(f *TaskFilter, like string, tm func(time.Time) any) (conds []Cond, order string) {
	if f.CompletedBy != "" {
		conds = append(conds, Cond{"completed_by = ?", []any{f.CompletedBy}})
	}
	if f.Search != "" {
		p := LikeContains(f.Search)
		conds = append(conds, Cond{`(name ` + like + ` ? ESCAPE '\' OR definition_id ` + like + ` ? ESCAPE '\'
			OR EXISTS (SELECT 1 FROM instances i WHERE i.id = tasks.instance_id AND i.business_key ` + like + ` ? ESCAPE '\')
			OR EXISTS (SELECT 1 FROM definitions d WHERE d.id = tasks.definition_id AND d.name ` + like + ` ? ESCAPE '\'))`,
			[]any{p, p, p, p}})
	}
	cond, args, order := TaskPage(f, func(v any) any {
		if t, ok := v.(time.Time); ok {
			return tm(t)
		}
		return v
	})
	if cond != "" {
		conds = append(conds, Cond{cond, args})
	}
	return conds, order
}
