package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/store"
)

// latestFor is how long the runner trusts what it last learned of a
// definition's latest version: a version deployed through another node
// is used for new instances within this time (one deployed through this
// runner at once).
const latestFor = time.Second

// latestDef is a definition's latest version as the runner last read it.
type latestDef struct {
	version int
	until   time.Time
}

// forgetLatest drops what the runner knows of a definition's latest
// version (a new one was just deployed through it).
func (r *Runner) forgetLatest(id string) {
	r.mu.Lock()
	delete(r.latest, id)
	r.mu.Unlock()
}

// cachedDef returns a compiled definition version from the cache, or nil.
func (r *Runner) cachedDef(id string, version int) *model.Definition {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.defs[defKey(id, version)]
}

func defKey(id string, version int) string { return fmt.Sprintf("%s@%d", id, version) }

// Definition returns a compiled definition version (0: latest), cached.
func (r *Runner) Definition(ctx context.Context, id string, version int) (*model.Definition, store.DefinitionRow, error) {
	if version <= 0 {
		r.mu.RLock()
		l, ok := r.latest[id]
		r.mu.RUnlock()
		if ok && r.clk.Now().Before(l.until) {
			version = l.version
		}
	}
	if version > 0 {
		if d := r.cachedDef(id, version); d != nil {
			return d, store.DefinitionRow{ID: id, Version: version, Name: d.Name}, nil
		}
	}
	row, err := r.st.Definition(ctx, id, version)
	if err != nil {
		return nil, row, err
	}
	if version <= 0 && row.Format != model.FormatDMN {
		r.mu.Lock()
		r.latest[id] = latestDef{version: row.Version, until: r.clk.Now().Add(latestFor)}
		r.mu.Unlock()
	}
	if d := r.cachedDef(row.ID, row.Version); d != nil {
		return d, row, nil
	}
	if row.Format == model.FormatDMN {
		return nil, row, fmt.Errorf("%w: %s is a decision table, not a workflow", ErrInvalid, row.ID)
	}
	d, err := parseDeployed(row)
	if err != nil {
		return nil, row, fmt.Errorf("definition %s v%d no longer compiles: %w", row.ID, row.Version, err)
	}
	d.Version = row.Version
	r.mu.Lock()
	r.defs[defKey(row.ID, row.Version)] = d
	r.mu.Unlock()
	return d, row, nil
}
