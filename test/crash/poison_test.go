package crash

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/test/proc"
)

// maxCrashes is the bound given to serve (--max-job-crashes); the
// workflow's retry policy allows far more attempts, so only the crash
// bound can stop the loop.
const maxCrashes = 3

func poisonFlows(base string) map[string]string {
	return map[string]string{
		"poison.json": `{"id":"poison","nodes":[{"id":"start","type":"startEvent"},
 {"id":"call","type":"serviceTask","http":{"url":"` + base + `/poison"},"retry":{"max":10,"backoff":"PT0.05S"}},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"call"},{"id":"f2","source":"call","target":"end"}]}`,
		"healthy.json": `{"id":"healthy","nodes":[{"id":"start","type":"startEvent"},
 {"id":"call","type":"serviceTask","http":{"url":"` + base + `/ok"}},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"call"},{"id":"f2","source":"call","target":"end"}]}`,
	}
}

func TestPoisonJobSQLite(t *testing.T) { poison(t, sqliteDB(t, "poison.db")) }

func TestPoisonJobPostgres(t *testing.T) { poison(t, postgresDB(t, "poison")) }

// killer is the downstream service of the poison workflow: each call to
// /poison SIGKILLs the baton process that made it while the request is in
// flight, as a handler that crashes the process would.
type killer struct {
	mu      sync.Mutex
	node    *proc.Node
	calls   int
	ready   chan struct{} // closed once the first start was answered
	died    chan struct{}
	healthy int
}

func (k *killer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == "/ok" {
		k.mu.Lock()
		k.healthy++
		k.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok": true}`)
		return
	}
	select {
	case <-k.ready:
	case <-time.After(10 * time.Second):
	}
	k.mu.Lock()
	k.calls++
	n := k.node
	k.mu.Unlock()
	n.Kill()
	k.died <- struct{}{}
}

func (k *killer) set(n *proc.Node) {
	k.mu.Lock()
	k.node = n
	k.mu.Unlock()
}

// poison starts `baton serve` with a workflow whose service task kills
// the process, restarts the server each time it dies, and shows that
// after maxCrashes deaths the job is dead-lettered with an incident
// saying the process ended while running it, and that the server stays
// up and runs other instances.
func poison(t *testing.T, db string) {
	bin := proc.Build(t, "../..")
	k := &killer{ready: make(chan struct{}), died: make(chan struct{}, 1)}
	svc := httptest.NewServer(k)
	defer svc.Close()
	dir := t.TempDir()
	for name, src := range poisonFlows(svc.URL) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := func() *proc.Node {
		n := proc.StartArgs(t, bin, db, dir, 4, nil, "--lease", "1s", "--max-job-crashes", fmt.Sprint(maxCrashes))
		k.set(n)
		return n
	}
	srv := start()
	defer func() { srv.Kill() }()
	client := &http.Client{Timeout: 10 * time.Second}
	id := startOne(t, client, srv.URL, "poison")
	close(k.ready)

	// Restart the server each time the job kills it, until the instance
	// fails.
	restarts := 0
	var status struct {
		Status    string `json:"status"`
		Incidents []struct {
			Message string `json:"message"`
		} `json:"incidents"`
	}
	for deadline := time.Now().Add(2 * time.Minute); status.Status != "FAILED"; {
		if time.Now().After(deadline) {
			t.Fatalf("instance is %q after %d restarts; server log tail:\n%s", status.Status, restarts, tail(srv.Logs.String(), 3000))
		}
		select {
		case <-k.died:
			restarts++
			if restarts > maxCrashes {
				t.Fatalf("the server died %d times: the poison job was not quarantined", restarts)
			}
			srv = start()
			continue
		case <-time.After(200 * time.Millisecond):
		}
		if b, err := proc.Get(client, srv.URL+"/api/runtime/instance/"+id); err == nil {
			_ = json.Unmarshal(b, &status)
		}
	}
	if len(status.Incidents) != 1 || !strings.Contains(status.Incidents[0].Message, "the process ended while running this job") {
		t.Fatalf("incidents %+v, want one saying the process ended while running the job", status.Incidents)
	}
	k.mu.Lock()
	calls := k.calls
	k.mu.Unlock()
	if restarts != maxCrashes || calls != maxCrashes {
		t.Errorf("%d restarts and %d calls of the poison endpoint, want %d each", restarts, calls, maxCrashes)
	}
	b, err := proc.Get(client, srv.URL+"/api/runtime/dead-letters?instanceId="+id)
	if err != nil {
		t.Fatal(err)
	}
	var dl struct {
		DeadLetters []struct {
			ID        string `json:"id"`
			Attempts  int    `json:"attempts"`
			LastError string `json:"lastError"`
		} `json:"deadLetters"`
	}
	if err := json.Unmarshal(b, &dl); err != nil || len(dl.DeadLetters) != 1 || !strings.Contains(dl.DeadLetters[0].LastError, "the process ended") {
		t.Fatalf("dead letters %s (%v), want the poison job", b, err)
	}

	// The server stayed up: it answers and runs other work.
	healthy := startOne(t, client, srv.URL, "healthy")
	proc.AwaitCompleted(t, client, func(int) string { return srv.URL }, []string{healthy}, time.Now().Add(30*time.Second),
		func() string { return tail(srv.Logs.String(), 3000) })
	t.Logf("POISON RESULT: %d restarts, %d attempts that ended the process, job %s dead (attempt counter %d: the leases, the last never run), instance FAILED: %q; server up, a healthy instance completed",
		restarts, calls, dl.DeadLetters[0].ID, dl.DeadLetters[0].Attempts, status.Incidents[0].Message)
}

// startOne starts an instance of a definition and returns its id.
func startOne(t *testing.T, c *http.Client, base, definition string) string {
	t.Helper()
	resp, err := proc.Post(c, base+"/api/runtime/start", `{"definitionId":"`+definition+`"}`)
	if err != nil {
		t.Fatal(err)
	}
	var inst struct {
		InstanceID string `json:"instanceId"`
	}
	if err := json.Unmarshal(resp, &inst); err != nil || inst.InstanceID == "" {
		t.Fatalf("start %s: %s", definition, resp)
	}
	return inst.InstanceID
}
