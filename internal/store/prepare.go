package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The rules of the contract that need no database: the checks and
// defaults every implementation applies before it writes, and the bounds
// of list and fetch sizes. Implementations call these and keep only SQL
// and dialect, so a new field gets its default in one place.

// List and fetch limits.
const (
	// DefaultLimit is a list's page size when its Limit is 0 or negative.
	DefaultLimit = 100
	// MaxLimit caps a list's Limit and a fetch's.
	MaxLimit = 1000
)

// ListLimit applies a list filter's Limit rule: DefaultLimit when n <= 0,
// at most MaxLimit.
func ListLimit(n int) int {
	if n <= 0 {
		return DefaultLimit
	}
	return min(n, MaxLimit)
}

// FetchLimit applies FetchParams.Limit's bounds: at least 1, at most
// MaxLimit.
func FetchLimit(n int) int {
	return min(max(n, 1), MaxLimit)
}

// Stored returns t as every implementation reads it back: UTC, truncated
// to the microsecond; the zero time stays zero.
func Stored(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.UnixMicro(t.UnixMicro()).UTC()
}

// Check reports what makes p unusable for a fetch (what names the fetch
// in the error: "fetch jobs", "fetch outbox").
func (p FetchParams) Check(what string) error {
	switch {
	case p.Owner == "":
		return fmt.Errorf("%s: empty owner", what)
	case p.LeaseFor <= 0:
		return fmt.Errorf("%s: lease duration %v, want > 0", what, p.LeaseFor)
	case p.Now.IsZero():
		return fmt.Errorf("%s: zero Now", what)
	}
	return nil
}

// SortJobs puts fetched jobs in fetch order: oldest RunAt first, then by
// id.
func SortJobs(jobs []JobRow) {
	sortByRunAt(jobs, func(j JobRow) (time.Time, string) { return j.RunAt, j.ID })
}

// SortOutbox puts fetched outbox rows in fetch order: oldest RunAt first,
// then by id.
func SortOutbox(rows []OutboxRow) {
	sortByRunAt(rows, func(o OutboxRow) (time.Time, string) { return o.RunAt, o.ID })
}

func sortByRunAt[T any](xs []T, key func(T) (time.Time, string)) {
	slices.SortFunc(xs, func(a, b T) int {
		ta, ia := key(a)
		tb, ib := key(b)
		if c := ta.Compare(tb); c != 0 {
			return c
		}
		return strings.Compare(ia, ib)
	})
}

// PrepareDefinition checks a definition to deploy and fills what Deploy
// documents: the Hash of Source when empty, an empty (not nil) Source,
// and DeployedAt as it is stored.
func PrepareDefinition(d *DefinitionRow) error {
	if d.ID == "" {
		return errors.New("deploy: empty definition id")
	}
	if d.Hash == "" {
		sum := sha256.Sum256(d.Source)
		d.Hash = hex.EncodeToString(sum[:])
	}
	if d.Source == nil {
		d.Source = []byte{}
	}
	d.DeployedAt = Stored(d.DeployedAt)
	return nil
}

// Prepare checks t and fills the defaults Transition documents, before an
// implementation writes it: history rows get their instance, checkpoint
// and time; new rows get CreatedAt, RunAt and State. It works on the
// caller's copy of t: the slices it changes are copied first, so the
// caller's rows are left as they were. Seq numbers are the
// implementation's to assign.
func Prepare(t *Transition) error {
	in := &t.Instance
	now := in.UpdatedAt
	if in.ID == "" {
		if len(t.History) > 0 {
			return errors.New("commit: history without an instance")
		}
		if len(t.Command) > 0 {
			return errors.New("commit: a command without an instance")
		}
	} else if in.Version < 1 {
		return fmt.Errorf("commit instance %s: version %d, want >= 1", in.ID, in.Version)
	}
	if d := t.DoneJob; d != nil {
		switch d.State {
		case JobCompleted, JobDead, JobCancelled:
		default:
			return fmt.Errorf("commit: done job %s: state %q is not final", d.ID, d.State)
		}
	}
	for _, c := range t.CloseTasks {
		switch c.State {
		case TaskCompleted, TaskCancelled:
		default:
			return fmt.Errorf("commit: close task %s: state %q is not final", c.ID, c.State)
		}
	}

	for _, a := range t.AssignTasks {
		if a.ID == "" {
			return errors.New("commit: task assignment without a task id")
		}
		if a.From == a.To {
			return fmt.Errorf("commit: assign task %s: it has %q already", a.ID, a.To)
		}
	}

	t.History = append([]HistoryRow(nil), t.History...)
	for i := range t.History {
		h := &t.History[i]
		h.InstanceID = in.ID
		h.Checkpoint = in.Version
		if h.Time.IsZero() {
			h.Time = now
		}
	}
	t.NewJobs = append([]JobRow(nil), t.NewJobs...)
	for i := range t.NewJobs {
		j := &t.NewJobs[i]
		if j.ID == "" {
			return errors.New("commit: new job without id")
		}
		if j.CreatedAt.IsZero() {
			j.CreatedAt = now
		}
		if j.RunAt.IsZero() {
			j.RunAt = j.CreatedAt
		}
		if j.RunAt.IsZero() {
			return fmt.Errorf("commit: new job %s: no RunAt, CreatedAt or Instance.UpdatedAt", j.ID)
		}
		if j.State == "" {
			j.State = JobAvailable
		}
	}
	t.NewTasks = append([]TaskRow(nil), t.NewTasks...)
	for i := range t.NewTasks {
		k := &t.NewTasks[i]
		if k.ID == "" {
			return errors.New("commit: new task without id")
		}
		if k.CreatedAt.IsZero() {
			k.CreatedAt = now
		}
		if k.State == "" {
			k.State = TaskOpen
		}
	}
	t.NewSubs = append([]SubscriptionRow(nil), t.NewSubs...)
	for i := range t.NewSubs {
		if t.NewSubs[i].CreatedAt.IsZero() {
			t.NewSubs[i].CreatedAt = now
		}
	}
	t.NewIncidents = append([]IncidentRow(nil), t.NewIncidents...)
	for i := range t.NewIncidents {
		n := &t.NewIncidents[i]
		if n.CreatedAt.IsZero() {
			n.CreatedAt = now
		}
		if n.State == "" {
			n.State = IncidentOpen
		}
	}
	t.Outbox = append([]OutboxRow(nil), t.Outbox...)
	for i := range t.Outbox {
		o := &t.Outbox[i]
		if o.CreatedAt.IsZero() {
			o.CreatedAt = now
		}
		if o.RunAt.IsZero() {
			o.RunAt = o.CreatedAt
		}
		if o.RunAt.IsZero() {
			return fmt.Errorf("commit: outbox %s: no RunAt, CreatedAt or Instance.UpdatedAt", o.ID)
		}
		if o.State == "" {
			o.State = OutboxPending
		}
	}
	t.Decisions = append([]DecisionRow(nil), t.Decisions...)
	for i := range t.Decisions {
		if t.Decisions[i].CreatedAt.IsZero() {
			t.Decisions[i].CreatedAt = now
		}
	}
	return nil
}

// Resolver is the actor of the transition's last history row that has
// one: who resolves the incidents it closes (ResolveIncidents).
func (t *Transition) Resolver() string {
	for i := len(t.History) - 1; i >= 0; i-- {
		if a := t.History[i].Actor; a != "" {
			return a
		}
	}
	return ""
}
