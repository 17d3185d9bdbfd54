package store

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// InstanceSort names the field an instance list is ordered by; the id
// breaks ties, so every order is total and a cursor can resume it.
type InstanceSort string

// The sortable fields. Sorting by SortEnded lists ended instances only:
// a running instance has no end time to place it by.
const (
	SortID          InstanceSort = "id"
	SortCreated     InstanceSort = "createdAt"
	SortUpdated     InstanceSort = "updatedAt"
	SortEnded       InstanceSort = "endedAt"
	SortStatus      InstanceSort = "status"
	SortDefinition  InstanceSort = "definitionId"
	SortBusinessKey InstanceSort = "businessKey"
)

// InstanceSorts lists the sortable fields, for documentation and checks.
var InstanceSorts = []InstanceSort{SortID, SortCreated, SortUpdated, SortEnded, SortStatus, SortDefinition, SortBusinessKey}

// Column is the instances column a sort orders by.
func (s InstanceSort) Column() string {
	switch s {
	case SortCreated:
		return "created_at"
	case SortUpdated:
		return "updated_at"
	case SortEnded:
		return "ended_at"
	case SortStatus:
		return "status"
	case SortDefinition:
		return "definition_id"
	case SortBusinessKey:
		return "business_key"
	}
	return "id"
}

// IsTime says whether the sort's values are times (else strings).
func (s InstanceSort) IsTime() bool {
	return s == SortCreated || s == SortUpdated || s == SortEnded
}

// InstanceQuery is an operator's search over instances, on top of
// InstanceFilter's exact fields. Zero fields do not filter. Time ranges
// are half-open: From <= t < Before.
type InstanceQuery struct {
	DefinitionVersion int    // with DefinitionID: that version only
	BusinessKeyPrefix string // business keys that start with it
	StartedFrom       time.Time
	StartedBefore     time.Time
	EndedFrom         time.Time
	EndedBefore       time.Time
	// HasIncident: nil any; true only instances with an open incident,
	// false only those without.
	HasIncident *bool
	// ErrorText matches instances with an open incident whose message
	// contains it (ASCII letters ignore case).
	ErrorText string
	// Vars must all hold (see VarCond).
	Vars []VarCond
	// Sort orders the list; "" orders by id ascending and pages with
	// After. With a Sort, pages resume at Cursor and After is ignored.
	Sort   InstanceSort
	Desc   bool
	Cursor *InstanceCursor
}

// InstanceCursor is the position of the last row of a page in the
// query's order: its sort value (a string, or a time for time sorts) and
// its id.
type InstanceCursor struct {
	Value any
	ID    string
}

// Limits of a query, so that one request cannot build an unbounded
// statement.
const (
	MaxVarConds = 10
	maxVarDepth = 8
)

// Check reports the first invalid field of a query.
func (q *InstanceQuery) Check() error {
	if q.Sort != "" && !sortKnown(q.Sort) {
		return fmt.Errorf("sort %q: want one of %v", q.Sort, InstanceSorts)
	}
	if len(q.Vars) > MaxVarConds {
		return fmt.Errorf("%d variable conditions: at most %d", len(q.Vars), MaxVarConds)
	}
	for i, v := range q.Vars {
		if err := v.check(); err != nil {
			return fmt.Errorf("variable condition %d: %w", i, err)
		}
	}
	if !q.StartedFrom.IsZero() && !q.StartedBefore.IsZero() && !q.StartedFrom.Before(q.StartedBefore) {
		return errors.New("started range is empty: from must be before before")
	}
	if !q.EndedFrom.IsZero() && !q.EndedBefore.IsZero() && !q.EndedFrom.Before(q.EndedBefore) {
		return errors.New("ended range is empty: from must be before before")
	}
	return nil
}

func sortKnown(s InstanceSort) bool {
	for _, k := range InstanceSorts {
		if k == s {
			return true
		}
	}
	return false
}

// CursorOf is the cursor that resumes the query after row.
func (q *InstanceQuery) CursorOf(row InstanceRow) string {
	var v any
	switch q.Sort {
	case SortCreated:
		v = row.CreatedAt.UTC().Format(time.RFC3339Nano)
	case SortUpdated:
		v = row.UpdatedAt.UTC().Format(time.RFC3339Nano)
	case SortEnded:
		v = row.EndedAt.UTC().Format(time.RFC3339Nano)
	case SortStatus:
		v = row.Status
	case SortDefinition:
		v = row.DefinitionID
	case SortBusinessKey:
		v = row.BusinessKey
	default:
		v = row.ID
	}
	b, _ := json.Marshal([]any{string(q.Sort), q.Desc, v, row.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseCursor reads a cursor made by CursorOf for the same sort and
// direction; a cursor of another order is an error, since it would skip
// or repeat rows.
func (q *InstanceQuery) ParseCursor(s string) (*InstanceCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("cursor is not one this API made")
	}
	var parts []any
	if err := json.Unmarshal(b, &parts); err != nil || len(parts) != 4 {
		return nil, errors.New("cursor is not one this API made")
	}
	sort, _ := parts[0].(string)
	desc, _ := parts[1].(bool)
	val, ok1 := parts[2].(string)
	id, ok2 := parts[3].(string)
	if !ok1 || !ok2 {
		return nil, errors.New("cursor is not one this API made")
	}
	if InstanceSort(sort) != q.Sort || desc != q.Desc {
		return nil, fmt.Errorf("cursor belongs to another order (sort %q, desc %v): start again from the first page", sort, desc)
	}
	c := &InstanceCursor{Value: val, ID: id}
	if q.Sort.IsTime() {
		t, err := time.Parse(time.RFC3339Nano, val)
		if err != nil {
			return nil, errors.New("cursor is not one this API made")
		}
		c.Value = t
	}
	return c, nil
}

// VarCond compares a variable (or a nested field of one) with a JSON
// literal. Numbers compare as numbers and strings as strings: a variable
// of another type never matches, except for "!=", which matches every
// instance where the variable does not hold Value (missing included).
// Booleans and null allow "=" and "!=" only.
type VarCond struct {
	Path  []string // variable name, then nested keys
	Op    string   // =, !=, <, <=, >, >=
	Value any      // json.Number, string, bool or nil
}

// VarKind is how a condition's value compares: "number", "string",
// "bool" or "null".
func (c VarCond) Kind() string {
	switch c.Value.(type) {
	case json.Number:
		return "number"
	case string:
		return "string"
	case bool:
		return "bool"
	}
	return "null"
}

// JSONPath is the condition's path inside the instance state, as SQLite's
// JSON functions write it: $.variables."name"."key".
func (c VarCond) JSONPath() string {
	var b strings.Builder
	b.WriteString(`$.variables`)
	for _, p := range c.Path {
		b.WriteString(`."` + p + `"`)
	}
	return b.String()
}

// StatePath is the condition's path inside the state as a list of keys
// (PostgreSQL's #> operator).
func (c VarCond) StatePath() []string {
	return append([]string{"variables"}, c.Path...)
}

var varKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

func (c VarCond) check() error {
	if len(c.Path) == 0 || len(c.Path) > maxVarDepth {
		return fmt.Errorf("path has %d keys: want 1 to %d", len(c.Path), maxVarDepth)
	}
	for _, k := range c.Path {
		if !varKey.MatchString(k) {
			return fmt.Errorf("key %q: want letters, digits, _ or -, not starting with a digit", k)
		}
	}
	switch c.Op {
	case "=", "!=":
	case "<", "<=", ">", ">=":
		if k := c.Kind(); k != "number" && k != "string" {
			return fmt.Errorf("%s cannot order a %s: use = or !=", c.Op, k)
		}
	default:
		return fmt.Errorf("operator %q: want =, !=, <, <=, > or >=", c.Op)
	}
	switch c.Value.(type) {
	case json.Number, string, bool, nil:
		return nil
	}
	return fmt.Errorf("value %v: want a number, a string, true, false or null", c.Value)
}

// ParseVarCond reads a condition written as `path op value`, such as
// `amount > 1000` or `customer.id = "C-7"`: a dotted path, an operator
// (=, ==, !=, <, <=, >, >=) and a JSON literal (strings in double quotes).
func ParseVarCond(s string) (VarCond, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, "=!<>")
	if i <= 0 {
		return VarCond{}, fmt.Errorf("%q: want `name op value`, such as amount > 1000", s)
	}
	path := strings.TrimSpace(s[:i])
	rest := s[i:]
	var op string
	for _, o := range []string{"==", "!=", "<=", ">=", "=", "<", ">"} {
		if strings.HasPrefix(rest, o) {
			op = o
			break
		}
	}
	if op == "" {
		return VarCond{}, fmt.Errorf("%q: operator %q: want =, !=, <, <=, > or >=", s, rest[:1])
	}
	lit := strings.TrimSpace(rest[len(op):])
	if op == "==" {
		op = "="
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(lit)))
	dec.UseNumber()
	var v any
	if lit == "" || dec.Decode(&v) != nil || dec.More() {
		return VarCond{}, fmt.Errorf("%q: value %s is not a JSON literal (quote strings: \"C-7\")", s, lit)
	}
	c := VarCond{Path: strings.Split(path, "."), Op: op, Value: v}
	if err := c.check(); err != nil {
		return VarCond{}, fmt.Errorf("%q: %w", s, err)
	}
	return c, nil
}

// LikeContains is a LIKE pattern matching text that contains s, with
// backslash as the escape character.
func LikeContains(s string) string {
	return "%" + likeEscape(s) + "%"
}

// LikePrefix is a LIKE pattern matching text that starts with s, with
// backslash as the escape character.
func LikePrefix(s string) string {
	return likeEscape(s) + "%"
}

func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}
