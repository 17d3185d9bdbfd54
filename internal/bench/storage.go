package bench

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/batonhq/baton/internal/runner"
	"github.com/batonhq/baton/internal/store"
)

// StorageOptions configure a storage measurement.
type StorageOptions struct {
	Store       store.Store // must implement store.Sizer
	StoreName   string
	Instances   int // instances per phase (default 10,000)
	Concurrency int
}

// StoragePhase is the space one phase added, per instance.
type StoragePhase struct {
	Phase string `json:"phase"`
	// BytesPerInstance is the growth of every table and index together
	// divided by the instances of the phase.
	BytesPerInstance float64 `json:"bytesPerInstance"`
	// ByTable splits it by table or index (largest first).
	ByTable []TableBytes `json:"byTable"`
}

// TableBytes is one table's or index's share of a phase.
type TableBytes struct {
	Name             string  `json:"name"`
	Table            string  `json:"table"`
	BytesPerInstance float64 `json:"bytesPerInstance"`
}

// StorageResult is a storage measurement.
type StorageResult struct {
	Store      string         `json:"store"`
	Instances  int            `json:"instances"`
	Phases     []StoragePhase `json:"phases"`
	LoadBefore float64        `json:"loadBefore"`
	LoadAfter  float64        `json:"loadAfter"`
}

func (r StorageResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "storage %s, %d instances per phase, load %.2f→%.2f\n", r.Store, r.Instances, r.LoadBefore, r.LoadAfter)
	for _, p := range r.Phases {
		fmt.Fprintf(&b, "  %-28s %7.0f B/instance:", p.Phase, p.BytesPerInstance)
		for _, t := range p.ByTable {
			if t.BytesPerInstance >= 1 || t.BytesPerInstance <= -1 {
				fmt.Fprintf(&b, " %s %.0f", t.Name, t.BytesPerInstance)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Storage measures the bytes on disk per instance: usertask instances
// waiting at their task, the same instances once their tasks are
// completed, and straight instances run to their end (a pure service
// task). Each phase is the growth of every Baton table and index,
// measured by the store (SQLite: dbstat pages; PostgreSQL:
// pg_table_size and pg_relation_size, dead row versions included),
// divided by the phase's instances.
func Storage(ctx context.Context, o StorageOptions) (res StorageResult, err error) {
	res = StorageResult{Store: o.StoreName, LoadBefore: LoadAverage()}
	defer func() { res.LoadAfter = LoadAverage() }()
	sizer, ok := o.Store.(store.Sizer)
	if !ok {
		return res, fmt.Errorf("store %s cannot report its size", o.StoreName)
	}
	if o.Instances <= 0 {
		o.Instances = 10_000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 64
	}
	res.Instances = o.Instances
	r := runner.New(runner.Config{Store: o.Store, Workers: 64, PollInterval: 50 * time.Millisecond})
	r.RegisterPure("service:work", runner.HandlerFunc(func(context.Context, *runner.Job) (map[string]any, error) {
		return nil, nil
	}))
	for _, m := range []string{"usertask", "straight"} {
		src, err := Models.ReadFile("models/" + m + ".bpmn")
		if err != nil {
			return res, err
		}
		if _, _, err := r.Deploy(ctx, m+".bpmn", src, "bench"); err != nil {
			return res, err
		}
	}
	stop, err := start(ctx, r)
	if err != nil {
		return res, err
	}
	defer stop()
	before, err := sizer.TableSizes(ctx)
	if err != nil {
		return res, err
	}
	measure := func(phase string) error {
		after, err := sizer.TableSizes(ctx)
		if err != nil {
			return err
		}
		res.Phases = append(res.Phases, growth(phase, before, after, o.Instances))
		before = after
		return nil
	}

	if err := parallel(ctx, o.Instances, o.Concurrency, func(int) error {
		_, _, err := r.StartInstance(ctx, runner.StartRequest{DefinitionID: "usertask"})
		return err
	}); err != nil {
		return res, err
	}
	if err := measure("usertask waiting"); err != nil {
		return res, err
	}
	ids, err := openTasks(ctx, o.Store)
	if err != nil {
		return res, err
	}
	if err := parallel(ctx, len(ids), o.Concurrency, func(i int) error {
		_, err := r.CompleteTask(ctx, ids[i], nil, "bench")
		return err
	}); err != nil {
		return res, err
	}
	if err := measure("usertask completed (added)"); err != nil {
		return res, err
	}
	w, stop := newWaiter(r)
	defer stop()
	if err := parallel(ctx, o.Instances, o.Concurrency, func(int) error {
		st, _, err := r.StartInstance(ctx, runner.StartRequest{DefinitionID: "straight"})
		if err == nil {
			err = w.await(ctx, st.InstanceID)
		}
		return err
	}); err != nil {
		return res, err
	}
	if err := measure("straight completed"); err != nil {
		return res, err
	}
	// The whole life of a usertask instance: waiting plus completing.
	whole := StoragePhase{Phase: "usertask completed (total)",
		BytesPerInstance: res.Phases[0].BytesPerInstance + res.Phases[1].BytesPerInstance}
	res.Phases = append(res.Phases[:2], append([]StoragePhase{whole}, res.Phases[2:]...)...)
	return res, nil
}

// growth is what each table and index grew by between two size reports,
// per instance.
func growth(phase string, before, after []store.TableSize, n int) StoragePhase {
	was := map[string]int64{}
	for _, t := range before {
		was[t.Name] = t.Bytes
	}
	p := StoragePhase{Phase: phase}
	var total int64
	for _, t := range after {
		d := t.Bytes - was[t.Name]
		total += d
		if d != 0 {
			p.ByTable = append(p.ByTable, TableBytes{Name: t.Name, Table: t.Table, BytesPerInstance: float64(d) / float64(n)})
		}
	}
	sort.Slice(p.ByTable, func(i, j int) bool { return p.ByTable[i].BytesPerInstance > p.ByTable[j].BytesPerInstance })
	p.BytesPerInstance = float64(total) / float64(n)
	return p
}

// Cloner is a store that can fill itself with copies of an ended
// instance (store/sqlite's CloneEnded).
type Cloner interface {
	CloneEnded(ctx context.Context, templateID string, n int, every time.Duration, progress func(done int)) error
}

// Grow adds n completed straight instances to the store: it runs one
// through the runtime and copies it n times (Cloner), the copies created
// every apart, before the oldest instance in the database.
func Grow(ctx context.Context, st store.Store, n int, every time.Duration, progress func(done int)) error {
	c, ok := st.(Cloner)
	if !ok {
		return fmt.Errorf("this store cannot be grown (SQLite only)")
	}
	r := runner.New(runner.Config{Store: st, Workers: 4, PollInterval: 50 * time.Millisecond})
	r.RegisterPure("service:work", runner.HandlerFunc(func(context.Context, *runner.Job) (map[string]any, error) {
		return nil, nil
	}))
	src, err := Models.ReadFile("models/straight.bpmn")
	if err != nil {
		return err
	}
	if _, _, err := r.Deploy(ctx, "straight.bpmn", src, "bench"); err != nil {
		return err
	}
	st0, _, err := r.StartInstance(ctx, runner.StartRequest{DefinitionID: "straight"})
	if err != nil {
		return err
	}
	if st0.Status != "COMPLETED" {
		return fmt.Errorf("the template instance is %s, not completed", st0.Status)
	}
	return c.CloneEnded(ctx, st0.InstanceID, n, every, progress)
}

// purgeCount counts what the retention purge removed (a
// runner.RetentionObserver that observes nothing else).
type purgeCount struct{ n atomic.Int64 }

func (*purgeCount) Committed(time.Duration, int)         {}
func (*purgeCount) JobDone(string, time.Duration, error) {}
func (*purgeCount) InstanceStatus(string, string)        {}
func (p *purgeCount) InstancesPurged(n int)              { p.n.Add(int64(n)) }
