package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/store"
)

func definition(id, source string) store.DefinitionRow {
	return store.DefinitionRow{
		ID:         id,
		Name:       "Definition " + id,
		Format:     "json",
		Source:     []byte(source),
		DeployedAt: t0,
		DeployedBy: "alice",
	}
}

func mustDeploy(t *testing.T, s store.Store, d store.DefinitionRow) (store.DefinitionRow, bool) {
	t.Helper()
	row, created, err := s.Deploy(ctxFor(t), d)
	if err != nil {
		t.Fatalf("Deploy(%s) = %v", d.ID, err)
	}
	return row, created
}

func testDefinitions(t *testing.T, newStore NewStore) {
	t.Run("FirstVersion", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		d := definition("loan", `{"id":"loan"}`)
		d.Version = 7 // ignored: the store numbers versions
		got, created := mustDeploy(t, s, d)
		sum := sha256.Sum256(d.Source)
		want := d
		want.Version = 1
		want.Hash = hex.EncodeToString(sum[:])
		if !created {
			t.Errorf("Deploy() created = false, want true")
		}
		if d := diff(want, got); d != "" {
			t.Errorf("Deploy() row mismatch (-want +got):\n%s", d)
		}
		read, err := s.Definition(ctxFor(t), "loan", 1)
		if err != nil {
			t.Fatalf("Definition(loan, 1) = %v", err)
		}
		if d := diff(want, read); d != "" {
			t.Errorf("Definition(loan, 1) mismatch (-want +got):\n%s", d)
		}
	})

	t.Run("SameHashIsNotRedeployed", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		first, _ := mustDeploy(t, s, definition("loan", `{"a":1}`))
		again := definition("loan", `{"a":1}`)
		again.DeployedBy = "bob"
		again.DeployedAt = at(time.Hour)
		got, created := mustDeploy(t, s, again)
		if created {
			t.Errorf("Deploy(same source) created = true, want false")
		}
		if d := diff(first, got); d != "" {
			t.Errorf("Deploy(same source) should return the existing row (-want +got):\n%s", d)
		}
		versions, err := s.DefinitionVersions(ctxFor(t), "loan")
		if err != nil {
			t.Fatalf("DefinitionVersions() = %v", err)
		}
		if len(versions) != 1 {
			t.Errorf("DefinitionVersions() has %d rows, want 1", len(versions))
		}
	})

	t.Run("NewVersions", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		v1, _ := mustDeploy(t, s, definition("loan", `{"a":1}`))
		v2, created := mustDeploy(t, s, definition("loan", `{"a":2}`))
		if !created || v2.Version != 2 {
			t.Fatalf("Deploy(changed) = version %d created %v, want 2 true", v2.Version, created)
		}
		// Dedupe compares with the latest version only: going back to
		// the first source is a new version.
		v3, created := mustDeploy(t, s, definition("loan", `{"a":1}`))
		if !created || v3.Version != 3 {
			t.Fatalf("Deploy(first source again) = version %d created %v, want 3 true", v3.Version, created)
		}
		other, _ := mustDeploy(t, s, definition("alpha", `{"b":1}`))

		latest, err := s.Definition(ctxFor(t), "loan", 0)
		if err != nil {
			t.Fatalf("Definition(loan, 0) = %v", err)
		}
		if d := diff(v3, latest); d != "" {
			t.Errorf("Definition(loan, 0) mismatch (-want +got):\n%s", d)
		}
		versions, err := s.DefinitionVersions(ctxFor(t), "loan")
		if err != nil {
			t.Fatalf("DefinitionVersions() = %v", err)
		}
		if d := diff([]store.DefinitionRow{v1, v2, v3}, versions); d != "" {
			t.Errorf("DefinitionVersions() mismatch (-want +got):\n%s", d)
		}
		all, err := s.Definitions(ctxFor(t))
		if err != nil {
			t.Fatalf("Definitions() = %v", err)
		}
		if d := diff([]store.DefinitionRow{other, v3}, all); d != "" {
			t.Errorf("Definitions() mismatch (-want +got):\n%s", d)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		_, err := s.Definition(ctxFor(t), "nope", 0)
		wantErr(t, "Definition(nope, 0)", err, store.ErrNotFound)
		mustDeploy(t, s, definition("loan", `{}`))
		_, err = s.Definition(ctxFor(t), "loan", 2)
		wantErr(t, "Definition(loan, 2)", err, store.ErrNotFound)
		versions, err := s.DefinitionVersions(ctxFor(t), "nope")
		if err != nil || len(versions) != 0 {
			t.Errorf("DefinitionVersions(nope) = %v, %v; want empty, nil", versions, err)
		}
	})

	t.Run("ConcurrentDeploysGetDistinctVersions", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, _, errs[i] = s.Deploy(ctxFor(t), definition("loan", fmt.Sprintf(`{"i":%d}`, i)))
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("Deploy #%d = %v", i, err)
			}
		}
		versions, err := s.DefinitionVersions(ctxFor(t), "loan")
		if err != nil {
			t.Fatalf("DefinitionVersions() = %v", err)
		}
		if len(versions) != n {
			t.Fatalf("DefinitionVersions() has %d rows, want %d", len(versions), n)
		}
		for i, v := range versions {
			if v.Version != i+1 {
				t.Errorf("versions[%d].Version = %d, want %d", i, v.Version, i+1)
			}
		}
	})
}
