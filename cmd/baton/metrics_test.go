package main

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/test/proc"
)

// TestServeContentionMetricsOnPostgres: serve on PostgreSQL exports the
// store's group-commit and job-fetch counters; so does SQLite, whose
// single writer never skips a locked row.
func TestServeContentionMetricsOnPostgres(t *testing.T) {
	url := os.Getenv("BATON_TEST_POSTGRES")
	if url == "" {
		t.Skip("BATON_TEST_POSTGRES is not set")
	}
	scrape := func(srv *serveProc) string {
		t.Helper()
		resp, err := srv.get("/metrics", "")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	srv := startServe(t, "--db", proc.FreshSchemaURL(t, url, "metrics"))
	// The job loop fetches at start; wait for its first fetch to show.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := scrape(srv)
		if strings.Contains(out, "baton_job_fetches_total ") && !strings.Contains(out, "baton_job_fetches_total 0\n") {
			for _, want := range []string{"baton_group_commits_total ", "baton_group_commit_repassed_total ",
				"baton_job_fetches_short_total ", "baton_job_fetch_skipped_locked_total "} {
				if !strings.Contains(out, want) {
					t.Errorf("/metrics on PostgreSQL lacks %s", want)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no job fetch counted in /metrics on PostgreSQL after 10s:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	srv.stop(t)

	out := scrape(startServe(t))
	for _, want := range []string{"baton_jobs{", "baton_group_commits_total ", "baton_group_commit_transitions_total ",
		"baton_job_fetches_total ", "baton_job_fetch_skipped_locked_total 0\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics on SQLite lacks %q:\n%.1000s", want, out)
		}
	}
}
