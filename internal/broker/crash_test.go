package broker_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/testkit"
	"github.com/batonhq/baton/test/proc"
)

// The crash tests run `baton serve` as a child process, publish a message
// to the broker, and kill the server with SIGKILL once it has received
// the message but before the transition the message causes has committed
// (the definition's first step holds a script that runs for a while). The
// broker must deliver the message again to the restarted server, which
// starts the instance then; at the end every message started exactly one
// instance and every instance published exactly one message (one id).

func TestAMQPCrash(t *testing.T) {
	skipShort(t)
	p := amqpSetup(t)
	crash(t, p, `{"name":"b","kind":"amqp","url":"amqp://127.0.0.1:5672/","username":"guest","passwordEnv":"TEST_BROKER_PASSWORD"}`)
}

func TestNATSCrash(t *testing.T) {
	skipShort(t)
	p := natsSetup(t)
	crash(t, p, `{"name":"b","kind":"nats","url":"nats://127.0.0.1:4222","ackWait":"3s"}`)
}

func TestMQTTCrash(t *testing.T) {
	skipShort(t)
	p := mqttSetup(t)
	crash(t, p, fmt.Sprintf(`{"name":"b","kind":"mqtt","url":"tcp://127.0.0.1:1883","clientId":"baton-crash-%s"}`, suffix()))
}

func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: broker crash test runs a server process; not in -short")
	}
}

// slowScript keeps the first transition busy for about a second (regular
// expression backtracking: CPU without allocation, which a long loop would
// spend past the sandbox's allocation limit; eight short matches, each far
// under the one-second bound of a single match), long enough to kill the
// server inside it.
const slowScript = `for (var k = 0; k < 8; k++) { slow = /^(a+)+(?=b)/.test('aaaaaaaaaaaaaaaaaaa!') }`

func crashWorkflow(id string, p *peer) string {
	return `{"id":"` + id + `","nodes":[
 {"id":"start","type":"startEvent","event":{"kind":"message","name":"` + id + `-paid",
   "source":{"broker":"b","destination":"` + p.in + `","correlationKey":"=body.orderId"}}},
 {"id":"slow","type":"scriptTask","script":"` + slowScript + `"},
 {"id":"tell","type":"sendTask","inputs":[{"source":"=orderId","target":"orderId"}],
   "event":{"kind":"message","name":"order-paid","sink":{"broker":"b","destination":"` + p.out + `"}}},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"slow"},{"id":"f2","source":"slow","target":"tell"},{"id":"f3","source":"tell","target":"end"}]}`
}

func crash(t *testing.T, p *peer, conf string) {
	bin := proc.Build(t, "../..")
	deploy, etc := t.TempDir(), t.TempDir()
	def := "crash-" + p.kind + "-" + suffix()
	if err := os.WriteFile(filepath.Join(deploy, def+".json"), []byte(crashWorkflow(def, p)), 0o644); err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(etc, "brokers.json")
	if err := os.WriteFile(confPath, []byte(`{"brokers":[`+conf+`]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "baton.db")
	env := []string{"TEST_BROKER_PASSWORD=guest"}
	start := func() *proc.Node {
		return proc.StartArgs(t, bin, db, deploy, 4, env, "--brokers", confPath, "--log-level", "debug", "--script-timeout", "60s")
	}
	srv := start()
	defer func() { srv.Kill() }()
	waitLog := func(what string, n int, d time.Duration) bool {
		return testkit.Eventually(t, d, func() bool { return strings.Count(srv.Logs.String(), what) >= n })
	}
	if !waitLog(`msg="broker consuming"`, 1, 20*time.Second) {
		t.Fatalf("server never consumed: %s", srv.Logs.String())
	}

	const messages, kills = 6, 3
	received := `msg="broker message received"`
	redeliveredNew := `outcome=delivered redelivered=true`
	killed, recovered := 0, 0
	for i := range messages {
		before := strings.Count(srv.Logs.String(), received)
		p.publish(t, p.in, fmt.Sprintf("paid-%d", i), fmt.Appendf(nil, `{"orderId":"o-%d"}`, i))
		if i >= kills {
			continue
		}
		if !waitLog(received, before+1, 20*time.Second) {
			t.Fatalf("message %d never received: %s", i, srv.Logs.String())
		}
		// Received, and the slow script of its first step is running:
		// nothing is committed, nothing acknowledged.
		if strings.Contains(srv.Logs.String(), `msg="broker message taken"`) && strings.Count(srv.Logs.String(), `msg="broker message taken"`) > before {
			t.Fatalf("message %d was taken before the kill; the script is too fast to kill inside the step", i)
		}
		srv.Kill()
		killed++
		srv = start()
		if !waitLog(redeliveredNew, 1, 60*time.Second) {
			t.Fatalf("message %d was not delivered again after the kill: %s", i, srv.Logs.String())
		}
		recovered++
	}

	client := &http.Client{Timeout: 10 * time.Second}
	type inst struct {
		ID          string `json:"instanceId"`
		BusinessKey string `json:"businessKey"`
		Status      string `json:"status"`
	}
	var list struct {
		Instances []inst `json:"instances"`
	}
	if !testkit.Eventually(t, 30*time.Second, func() bool {
		b, err := proc.Get(client, srv.URL+"/api/runtime/instances?definitionId="+def+"&limit=100")
		if err != nil || json.Unmarshal(b, &list) != nil {
			return false
		}
		done := 0
		for _, in := range list.Instances {
			if in.Status == "COMPLETED" {
				done++
			}
		}
		return done >= messages && len(p.received()) >= messages
	}) {
		var detail []byte
		for _, in := range list.Instances {
			if in.Status != "COMPLETED" {
				detail, _ = proc.Get(client, srv.URL+"/api/runtime/instance/"+in.ID)
				break
			}
		}
		t.Fatalf("instances %+v, messages out %v; first: %s; log: %s", list.Instances, p.received(), detail, srv.Logs.String())
	}
	perKey := map[string]int{}
	for _, in := range list.Instances {
		perKey[in.BusinessKey]++
	}
	dupEffects := 0
	for k, n := range perKey {
		if n != 1 {
			dupEffects += n - 1
			t.Errorf("order %s started %d instances, want 1", k, n)
		}
	}
	if len(perKey) != messages {
		t.Errorf("%d orders started instances, want %d: %v", len(perKey), messages, perKey)
	}
	// Out: one message id per order (a copy sent again after a crash
	// would carry the same id).
	idsPerOrder := map[string]map[string]bool{}
	copies := 0
	for id, bodies := range p.received() {
		copies += len(bodies) - 1
		var b map[string]any
		if err := json.Unmarshal([]byte(bodies[0]), &b); err != nil {
			t.Fatal(err)
		}
		o, _ := b["orderId"].(string)
		if idsPerOrder[o] == nil {
			idsPerOrder[o] = map[string]bool{}
		}
		idsPerOrder[o][id] = true
	}
	for o, ids := range idsPerOrder {
		if len(ids) != 1 {
			dupEffects += len(ids) - 1
			t.Errorf("order %s was published with %d message ids, want 1", o, len(ids))
		}
	}
	t.Logf("%s crash: messages in %d, messages out %d (%d copies by id), kills %d, redelivered after a kill and taken %d, duplicates in effect %d",
		p.kind, messages, len(p.received()), copies, killed, recovered, dupEffects)
}
