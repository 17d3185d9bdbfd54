package crash

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/llm/llmtest"
	"github.com/batonhq/baton/test/proc"
)

// agentSteps is how many activities each agent runs before it finishes.
const agentSteps = 8

func agentWorkflow(base string) string {
	return `{"id":"agent","name":"Agent crash test","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"work","type":"agentTask","name":"Work through the list","agent":{"goal":"Call the service once for each number from 1 to ` + fmt.Sprint(agentSteps) + `, then finish.","maxSteps":20},
  "outputSchema":{"type":"object","required":["calls"],"properties":{"calls":{"type":"integer"}}},"resultVariable":"result"},
 {"id":"call","type":"serviceTask","parent":"work","name":"Call the service","http":{"url":"` + base + `/call?i={{i}}"},
  "inputSchema":{"type":"object","required":["i"],"properties":{"i":{"type":"integer"}}},
  "retry":{"max":20,"backoff":"PT0.05S","factor":1.5,"maxBackoff":"PT1S"}},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"work"},{"id":"f2","source":"work","target":"end"}]}`
}

// fakeAgent is the model: it answers each request from what the request
// says (the instance's n and the steps so far), so it gives the same
// answer to a repeated question, and it logs when each question arrived.
type fakeAgent struct {
	mu      sync.Mutex
	arrived map[string][]time.Time // "n/step" → arrivals
	total   int
}

var (
	nRE     = regexp.MustCompile(`"n":\s*(\d+)`)
	stepsRE = regexp.MustCompile(`"activity":\s*"call"`)
)

func (f *fakeAgent) answer(r llmtest.Request) llmtest.Reply {
	text := userText(r)
	m := nRE.FindStringSubmatch(text)
	n := "?"
	if m != nil {
		n = m[1]
	}
	done := len(stepsRE.FindAllString(text, -1))
	f.mu.Lock()
	key := fmt.Sprintf("%s/%d", n, done)
	f.arrived[key] = append(f.arrived[key], time.Now())
	f.total++
	f.mu.Unlock()
	var rep llmtest.Reply
	if done < agentSteps {
		rep = llmtest.ToolUse("call", map[string]any{"i": done + 1})
	} else {
		rep = llmtest.ToolUse("finish", map[string]any{"result": map[string]any{"calls": done}, "summary": "all called"})
	}
	return llmtest.Delay(time.Duration(2+rand.IntN(15))*time.Millisecond, rep.WithUsage(400, 30))
}

func (f *fakeAgent) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.total
}

// userText is the text of the request's first user message (Anthropic
// format: a string or text blocks).
func userText(r llmtest.Request) string {
	msgs, _ := r.JSON["messages"].([]any)
	if len(msgs) == 0 {
		return ""
	}
	m, _ := msgs[0].(map[string]any)
	switch c := m["content"].(type) {
	case string:
		return c
	case []any:
		var b strings.Builder
		for _, blk := range c {
			if bm, ok := blk.(map[string]any); ok {
				s, _ := bm["text"].(string)
				b.WriteString(s)
			}
		}
		return b.String()
	}
	return ""
}

func TestAgentCrashSQLite(t *testing.T) { runAgent(t, sqliteDB(t, "agent.db")) }

func TestAgentCrashPostgres(t *testing.T) { runAgent(t, postgresDB(t, "agentcrash")) }

// runAgent kills the server while agent tasks are in their loops and
// checks that no step the model answered was asked again in a later
// server life, every agent ran each step once, and every instance
// completed.
func runAgent(t *testing.T, db string) {
	bin := proc.Build(t, "../..")
	rec := &proc.Recorder{Jitter: 3 * time.Millisecond}
	svc := httptest.NewServer(rec)
	defer svc.Close()
	model := &fakeAgent{arrived: map[string][]time.Time{}}
	llmSrv := llmtest.NewAnthropic(t)
	llmSrv.Respond(model.answer)
	env := []string{"BATON_LLM_PROVIDER=anthropic", "BATON_LLM_BASE_URL=" + llmSrv.URL, "ANTHROPIC_API_KEY=test-key", "BATON_LLM_MODEL=claude-test"}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "agent.json"), []byte(agentWorkflow(svc.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	const instances = 60
	srv := proc.StartEnv(t, bin, db, dir, 16, env)
	defer func() { srv.Kill() }()
	client := &http.Client{Timeout: 10 * time.Second}

	var ids []string
	for i := 0; i < instances; {
		body := fmt.Sprintf(`{"definitionId":"agent","variables":{"n":%d}}`, i)
		resp, err := proc.Post(client, srv.URL+"/api/runtime/start", body)
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		var inst struct {
			InstanceID string `json:"instanceId"`
		}
		if err := json.Unmarshal(resp, &inst); err != nil || inst.InstanceID == "" {
			t.Fatalf("start: %s", resp)
		}
		ids = append(ids, inst.InstanceID)
		i++
	}

	// Kill the server each time the model has answered another slice of
	// the steps, so that kills land inside the loops.
	totalAsks := instances * (agentSteps + 1)
	var kills []time.Time
	for _, frac := range []float64{0.15, 0.35, 0.55, 0.75} {
		at := int(frac * float64(totalAsks))
		deadline := time.Now().Add(2 * time.Minute)
		for model.count() < at {
			if time.Now().After(deadline) {
				t.Fatalf("the model was asked %d times, waiting for %d; server log tail:\n%s", model.count(), at, tail(srv.Logs.String(), 3000))
			}
			time.Sleep(2 * time.Millisecond)
		}
		srv.Kill()
		kills = append(kills, time.Now())
		t.Logf("kill %d after %d model requests, %d service calls", len(kills), model.count(), rec.Total())
		srv = proc.StartEnv(t, bin, db, dir, 16, env)
	}

	proc.AwaitCompleted(t, client, func(int) string { return srv.URL }, ids, time.Now().Add(3*time.Minute),
		func() string { return tail(srv.Logs.String(), 3000) })

	// Every instance: one agentStep history entry per step plus the
	// finish, the result the model gave, and one recorded decision per
	// step.
	for _, id := range ids {
		b, err := proc.Get(client, srv.URL+"/api/runtime/instance/"+id)
		if err != nil {
			t.Fatal(err)
		}
		var inst struct {
			Vars    map[string]any `json:"processData"`
			History []struct {
				NodeID string `json:"nodeId"`
				Action string `json:"action"`
			} `json:"executionHistory"`
		}
		if err := json.Unmarshal(b, &inst); err != nil {
			t.Fatal(err)
		}
		steps, calls := 0, 0
		for _, h := range inst.History {
			switch {
			case h.Action == "agentStep":
				steps++
			case h.NodeID == "call" && h.Action == "completed":
				calls++
			}
		}
		res, _ := inst.Vars["result"].(map[string]any)
		if steps != agentSteps+1 || calls != agentSteps || res["calls"] != float64(agentSteps) {
			t.Fatalf("instance %s: %d agent steps, %d calls, result %v", id, steps, calls, inst.Vars["result"])
		}
		d, err := proc.Get(client, srv.URL+"/api/runtime/instance/"+id+"/decisions")
		if err != nil {
			t.Fatal(err)
		}
		var decs struct {
			Decisions []json.RawMessage `json:"decisions"`
		}
		if err := json.Unmarshal(d, &decs); err != nil || len(decs.Decisions) != agentSteps+1 {
			t.Fatalf("instance %s: %d recorded decisions (%v): %.300s", id, len(decs.Decisions), err, d)
		}
	}

	// No step asked twice within one server life: a repeated question is
	// only allowed when a kill came between the two requests (the answer
	// was in flight and never recorded).
	model.mu.Lock()
	defer model.mu.Unlock()
	repeats := 0
	for key, times := range model.arrived {
		sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
		for i := 1; i < len(times); i++ {
			repeats++
			killed := false
			for _, k := range kills {
				if k.After(times[i-1]) && k.Before(times[i]) {
					killed = true
				}
			}
			if !killed {
				t.Errorf("step %s was asked again at %s with no kill since %s", key, times[i].Format(time.StampMicro), times[i-1].Format(time.StampMicro))
			}
		}
	}
	if repeats > len(kills)*16 {
		t.Errorf("%d repeated questions for %d kills of a server with 16 workers: more than were in flight", repeats, len(kills))
	}
	if len(model.arrived) != totalAsks {
		t.Errorf("%d distinct steps asked, want %d", len(model.arrived), totalAsks)
	}
	keys, total, dups := rec.Counts()
	if keys != instances*agentSteps {
		t.Errorf("%d distinct service calls, want %d", keys, instances*agentSteps)
	}
	t.Logf("AGENT CRASH RESULT: %d instances × %d steps, %d kills, %d model requests for %d steps (%d repeats, each across a kill), %d service calls (%d duplicates of uncommitted attempts)",
		instances, agentSteps, len(kills), model.total, totalAsks, repeats, total, dups)
}
