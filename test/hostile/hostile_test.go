// Package hostile runs the hostile-script suite (issue 11): a table of
// scripts that try to exhaust memory or CPU, recurse without end, bend
// prototypes or reach the host, and of expressions that try to exhaust
// memory or CPU, each run by `baton serve` (a child
// process, with small script limits), asserting for every one that the
// server stays up, the instance gets an incident naming the cause, and
// other instances keep completing. See docs/security.md.
package hostile

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/test/proc"
)

// Limits of the server under test.
const (
	scriptMemory  = "64MiB"
	scriptTimeout = "1s"
	scriptWorkers = 4
	serverMemory  = 512 << 20 // the server's resident memory must stay below
	hangAfter     = 30 * time.Second
)

// good is the workflow that must keep completing while the payloads run:
// a script that needs the sandbox's workers.
const good = `{"id": "good", "nodes": [
	{"id": "start", "type": "startEvent"},
	{"id": "sum", "type": "scriptTask", "script": "total = items.map(i => i.price).reduce((a, b) => a + b, 0)"},
	{"id": "end", "type": "endEvent"}],
 "edges": [{"id": "f1", "source": "start", "target": "sum"}, {"id": "f2", "source": "sum", "target": "end"}]}`

func workflow(id string, p payload) string {
	s, _ := json.Marshal(p.script)
	if p.class == "expression" {
		return fmt.Sprintf(`{"id": %q, "nodes": [
	{"id": "start", "type": "startEvent"},
	{"id": "route", "type": "exclusiveGateway", "default": "f_else"},
	{"id": "yes", "type": "endEvent"},
	{"id": "no", "type": "endEvent"}],
 "edges": [{"id": "f1", "source": "start", "target": "route"},
	{"id": "f_if", "source": "route", "target": "yes", "condition": %s},
	{"id": "f_else", "source": "route", "target": "no"}]}`, id, s)
	}
	return fmt.Sprintf(`{"id": %q, "nodes": [
	{"id": "start", "type": "startEvent"},
	{"id": "payload", "type": "scriptTask", "script": %s},
	{"id": "end", "type": "endEvent"}],
 "edges": [{"id": "f1", "source": "start", "target": "payload"}, {"id": "f2", "source": "payload", "target": "end"}]}`, id, s)
}

// outcome is what happened to one payload.
type outcome struct {
	p       payload
	status  string // the instance's status, or "refused at deploy"
	message string // the incident's message (or the deploy's refusal)
	hung    bool
	err     error
	took    time.Duration
}

func TestHostileScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts baton serve")
	}
	if len(payloads) < 40 {
		t.Fatalf("%d payloads, want at least 40", len(payloads))
	}
	t0 := time.Now()
	bin := proc.Build(t, "../..")
	t.Logf("built baton in %.1fs", time.Since(t0).Seconds())
	dir := t.TempDir()
	srv := proc.StartEnv(t, bin, filepath.Join(dir, "baton.db"), t.TempDir(), 16, []string{
		"BATON_SCRIPT_MEMORY=" + scriptMemory,
		"BATON_SCRIPT_TIMEOUT=" + scriptTimeout,
		"BATON_SCRIPT_WORKERS=" + strconv.Itoa(scriptWorkers),
		"GOMEMLIMIT=256MiB",
	})
	t.Cleanup(srv.Kill)
	client := &http.Client{Timeout: hangAfter}

	if _, err := proc.Post(client, srv.URL+"/api/definitions", good); err != nil {
		t.Fatalf("deploy good: %v", err)
	}
	t0 = time.Now()
	outcomes := make([]outcome, len(payloads))
	var deploys sync.WaitGroup
	for i, p := range payloads {
		outcomes[i].p = p
		deploys.Add(1)
		go func() {
			defer deploys.Done()
			if _, err := proc.Post(client, srv.URL+"/api/definitions", workflow(fmt.Sprintf("hostile-%02d", i), p)); err != nil {
				outcomes[i].status, outcomes[i].message = "refused at deploy", err.Error()
			}
		}()
	}
	deploys.Wait()
	t.Logf("deployed %d workflows in %.1fs", len(payloads), time.Since(t0).Seconds())

	// The server's resident memory, sampled while the payloads run.
	var peakRSS atomic.Int64
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(2)
	go func() {
		defer bg.Done()
		for {
			if rss, err := residentMemory(client, srv.URL); err == nil && rss > peakRSS.Load() {
				peakRSS.Store(rss)
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	// Good instances, one after another, all along.
	var goodDone, goodBad atomic.Int64
	var goodErr atomic.Value
	go func() {
		defer bg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			body := fmt.Sprintf(`{"definitionId": "good", "variables": {"items": [{"price": %d}, {"price": 2}]}}`, i)
			status, id, err := start(client, srv.URL, body)
			switch {
			case err == nil && status == "COMPLETED":
				goodDone.Add(1)
			default:
				goodBad.Add(1)
				msg := ""
				if id != "" {
					msg, _ = incidentMessage(client, srv.URL, id)
				}
				goodErr.Store(fmt.Sprintf("status %q, %v, incident %q", status, err, msg))
			}
		}
	}()

	began := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2*scriptWorkers)
	for i := range outcomes {
		if outcomes[i].status != "" {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			o := &outcomes[i]
			t0 := time.Now()
			var id string
			o.status, id, o.err = start(client, srv.URL, fmt.Sprintf(`{"definitionId": "hostile-%02d"}`, i))
			o.took = time.Since(t0)
			if o.err != nil {
				o.hung = strings.Contains(o.err.Error(), "Client.Timeout") || strings.Contains(o.err.Error(), "deadline exceeded")
				return
			}
			o.message, o.err = incidentMessage(client, srv.URL, id)
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	// Let good instances run a little longer than the last payload.
	time.Sleep(500 * time.Millisecond)
	close(stop)
	bg.Wait()

	_, healthErr := proc.Get(client, srv.URL+"/healthz")
	deaths := 0
	if healthErr != nil {
		deaths = 1
		t.Errorf("the server is down after the payloads: %v\n%s", healthErr, tail(srv.Logs.String()))
	}
	var hangs, right, wrong int
	for _, o := range outcomes {
		switch {
		case o.hung:
			hangs++
			t.Errorf("%s [%s]: no answer within %v", o.p.name, o.p.class, hangAfter)
		case o.err != nil:
			wrong++
			t.Errorf("%s [%s]: %v", o.p.name, o.p.class, o.err)
		case o.status != "FAILED" && o.status != "refused at deploy":
			wrong++
			t.Errorf("%s [%s]: instance %s, want FAILED with an incident", o.p.name, o.p.class, o.status)
		case !regexp.MustCompile(o.p.cause).MatchString(o.message):
			wrong++
			t.Errorf("%s [%s]: incident %q does not name the cause (%s)", o.p.name, o.p.class, o.message, o.p.cause)
		default:
			right++
			t.Logf("%-45s %-9s %6.2fs  %s", o.p.name, o.p.class, o.took.Seconds(), o.message)
		}
	}
	if goodDone.Load() == 0 || goodBad.Load() > 0 {
		t.Errorf("good instances: %d completed, %d did not (last: %v)", goodDone.Load(), goodBad.Load(), goodErr.Load())
	}
	if peak := peakRSS.Load(); peak > serverMemory {
		t.Errorf("server resident memory peaked at %d MiB, over %d MiB", peak>>20, serverMemory>>20)
	}
	summary := fmt.Sprintf("hostile scripts: %d payloads, %d server deaths, %d hangs, %d incidents with the right cause, %d wrong; %d good instances completed meanwhile, %d failed; server peak RSS %d MiB; %.1fs",
		len(payloads), deaths, hangs, right, wrong, goodDone.Load(), goodBad.Load(), peakRSS.Load()>>20, elapsed.Seconds())
	t.Log(summary)
	fmt.Println(summary)
}

// start starts an instance and returns its status after the first
// transition.
func start(c *http.Client, url, body string) (status, id string, err error) {
	b, err := proc.Post(c, url+"/api/runtime/start", body)
	if err != nil {
		return "", "", err
	}
	var inst struct {
		InstanceID string `json:"instanceId"`
		Status     string `json:"status"`
	}
	if err := json.Unmarshal(b, &inst); err != nil {
		return "", "", fmt.Errorf("start: %v: %s", err, b)
	}
	return inst.Status, inst.InstanceID, nil
}

func incidentMessage(c *http.Client, url, id string) (string, error) {
	b, err := proc.Get(c, url+"/api/runtime/incidents?instanceId="+id)
	if err != nil {
		return "", err
	}
	var list struct {
		Incidents []struct {
			Kind    string `json:"kind"`
			Message string `json:"message"`
		} `json:"incidents"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return "", err
	}
	if len(list.Incidents) != 1 {
		return "", fmt.Errorf("instance %s has %d incidents: %s", id, len(list.Incidents), b)
	}
	return list.Incidents[0].Message, nil
}

var rssRE = regexp.MustCompile(`(?m)^process_resident_memory_bytes (\S+)$`)

// residentMemory reads the server's resident memory from /metrics.
func residentMemory(c *http.Client, url string) (int64, error) {
	b, err := proc.Get(c, url+"/metrics")
	if err != nil {
		return 0, err
	}
	m := rssRE.FindSubmatch(b)
	if m == nil {
		return 0, fmt.Errorf("no process_resident_memory_bytes in /metrics")
	}
	f, err := strconv.ParseFloat(string(m[1]), 64)
	return int64(f), err
}

func tail(s string) string {
	if len(s) > 4000 {
		return s[len(s)-4000:]
	}
	return s
}
