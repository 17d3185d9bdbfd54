package bench

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonhq/baton/internal/store"
	"github.com/batonhq/baton/internal/store/postgres"
	"github.com/batonhq/baton/internal/store/sqlite"
)

// checkCeiling runs the ceiling briefly and checks that it wrote what it
// counted: whole straight instances, readable through the store.
func checkCeiling(t *testing.T, st store.Store, db string) {
	t.Helper()
	ctx := context.Background()
	res, err := Ceiling(ctx, CeilingOptions{DB: db, Duration: 200 * time.Millisecond, Batch: 10, Writers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if res.Instances == 0 || res.Instances%10 != 0 || res.PerSecond <= 0 {
		t.Fatalf("ceiling: %+v", res)
	}
	n, err := st.CountInstances(ctx, store.InstanceFilter{Status: "COMPLETED"})
	if err != nil || int64(n) != res.Instances {
		t.Fatalf("%d completed instances, %v; the ceiling counted %d", n, err, res.Instances)
	}
	page, err := st.Instances(ctx, store.InstanceFilter{Limit: 1})
	if err != nil || len(page) != 1 {
		t.Fatalf("instances after the ceiling run: %+v, %v", page, err)
	}
	id := page[0].ID
	h, err := st.History(ctx, id)
	if err != nil || len(h) != 6 {
		t.Fatalf("history of %s: %d rows, %v; want 6", id, len(h), err)
	}
	cmds, err := st.Commands(ctx, id)
	if err != nil || len(cmds) != 1 {
		t.Fatalf("commands of %s: %d, %v; want 1", id, len(cmds), err)
	}
}

func TestCeilingSQLite(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ceiling.db")
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checkCeiling(t, st, db)
}

func TestCeilingPostgres(t *testing.T) {
	url := os.Getenv("BATON_TEST_POSTGRES")
	if url == "" {
		t.Skip("SKIP: BATON_TEST_POSTGRES is not set")
	}
	ctx := context.Background()
	schema := "baton_ceiling_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	st, err := postgres.OpenSchema(ctx, url, schema)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		st.Close()
		if conn, err := pgx.Connect(ctx, url); err == nil {
			_, _ = conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
			conn.Close(ctx)
		}
	}()
	checkCeiling(t, st, url+"&search_path="+schema)
}
