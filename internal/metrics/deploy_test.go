package metrics_test

import (
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/internal/store"
)

// exported returns every metric family Baton's registry exports once
// each metric has been observed (a vector shows only after its first use).
func exported(t *testing.T) map[string]bool {
	t.Helper()
	m := metrics.New(upkept{counts: counts{"available": 1}, row: &store.UpkeepRow{LastRunAt: time.Unix(1, 0)}})
	m.InstancesPurged(1)
	m.Committed(time.Millisecond, 1)
	m.JobDone("service", time.Millisecond, errors.New("x"))
	m.InstanceStatus("RUNNING", "FAILED")
	m.LLMCall("openai", "m", "gateway", 1, 1, 1)
	m.LeaseTakenOver("service")
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, f := range fams {
		out[f.GetName()] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_count", "_sum"} {
				out[f.GetName()+s] = true
			}
		}
	}
	return out
}

var metricName = regexp.MustCompile(`\b(?:baton|go|process)_[a-z0-9_]+`)

// checkNames reports every metric an expression names that Baton does not
// export, and returns how many it named.
func checkNames(t *testing.T, where, expr string, have map[string]bool) int {
	t.Helper()
	names := metricName.FindAllString(expr, -1)
	for _, n := range names {
		if !have[n] {
			t.Errorf("%s: metric %s is not exported by Baton (expr %s)", where, n, expr)
		}
	}
	return len(names)
}

// TestGrafanaDashboardNamesExportedMetrics: deploy/grafana/baton.json is
// valid JSON, every panel queries something, and every metric its
// queries name exists.
func TestGrafanaDashboardNamesExportedMetrics(t *testing.T) {
	have := exported(t)
	data, err := os.ReadFile("../../deploy/grafana/baton.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Query any `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("baton.json: %v", err)
	}
	if len(dash.Panels) < 10 {
		t.Fatalf("baton.json has %d panels", len(dash.Panels))
	}
	named := map[string]bool{}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			if checkNames(t, "panel "+p.Title, tg.Expr, have) == 0 {
				t.Errorf("panel %q: query %q names no Baton metric", p.Title, tg.Expr)
			}
			for _, n := range metricName.FindAllString(tg.Expr, -1) {
				named[strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_count")] = true
			}
		}
	}
	for _, v := range dash.Templating.List {
		if q, ok := v.Query.(string); ok {
			checkNames(t, "variable", q, have)
		}
	}
	// Every Baton metric is on the dashboard.
	for n := range have {
		if strings.HasPrefix(n, "baton_") && !strings.HasSuffix(n, "_sum") && !strings.HasSuffix(n, "_bucket") && !strings.HasSuffix(n, "_count") && !named[n] {
			t.Errorf("metric %s is on no panel", n)
		}
	}
}

// TestAlertRulesNameExportedMetrics: deploy/prometheus/baton-alerts.yml is
// a Prometheus rule file whose alerts cover incidents, dead letters, lease
// takeovers and the LLM budget, each on metrics that exist.
func TestAlertRulesNameExportedMetrics(t *testing.T) {
	have := exported(t)
	data, err := os.ReadFile("../../deploy/prometheus/baton-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		t.Fatalf("baton-alerts.yml: %v", err)
	}
	alerts := map[string]bool{}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			where := "alert " + r.Alert
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("%s: want alert, expr, a severity label and a summary: %+v", where, r)
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", where, r.For, err)
				}
			}
			if checkNames(t, where, r.Expr, have) == 0 {
				t.Errorf("%s names no Baton metric", where)
			}
			alerts[r.Alert] = true
		}
	}
	for _, want := range []string{"BatonIncidentsOpened", "BatonDeadLetters", "BatonLeaseTakeovers", "BatonLLMBudget"} {
		if !alerts[want] {
			t.Errorf("no alert %s", want)
		}
	}
}
