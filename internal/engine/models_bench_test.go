package engine

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/batonhq/baton/internal/model/bpmn"
)

// BenchmarkModels runs every benchmark model (internal/bench/models, a copy
// of ../shared/bench) through the in-memory engine: start, then complete
// each job or user task as soon as it appears, until the instance
// completes. It reports instances per second (inst/s) and allocations per
// instance (allocs/op).
func BenchmarkModels(b *testing.B) {
	for _, name := range []string{"straight", "seq10", "gateway", "gateway-expr", "gateway-feel", "gateway-js", "parallel", "usertask"} {
		b.Run(name, func(b *testing.B) {
			file := name
			if name == "gateway-expr" {
				file = "gateway"
			}
			src, err := os.ReadFile("../bench/models/" + file + ".bpmn")
			if err != nil {
				b.Skipf("SKIP: %v", err)
			}
			if name == "gateway-expr" {
				// The expr-lang baseline: gateway.bpmn's condition
				// "=amount > 1000" is FEEL; "${...}" is expr-lang.
				src = bytes.Replace(src, []byte(">=amount &gt; 1000<"), []byte(">${amount &gt; 1000}<"), 1)
			}
			d, err := bpmn.ParseOne(name, src, "")
			if err != nil {
				b.Fatal(err)
			}
			vars := [2]map[string]any{{"amount": 500.0}, {"amount": 5000.0}}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				var v map[string]any
				if strings.HasPrefix(name, "gateway") {
					v = vars[i%2]
				}
				i++
				st, eff, err := Step(d, nil, Command{Kind: CmdStart, Time: t0, InstanceID: "i", Variables: v})
				if err != nil {
					b.Fatal(err)
				}
				pending := append([]Effect(nil), eff...)
				for st.Status != StatusCompleted {
					if len(pending) == 0 {
						b.Fatalf("stuck at %v: %+v", st.CurrentNodeIDs(), st.Incidents)
					}
					e := pending[0]
					pending = pending[1:]
					var c Command
					switch e.Kind {
					case EffJob:
						c = Command{Kind: CmdCompleteJob, Time: t0, Ref: e.ID}
					case EffTask:
						c = Command{Kind: CmdCompleteTask, Time: t0, Ref: e.ID}
					default:
						continue
					}
					st, eff, err = Step(d, st, c)
					if err != nil {
						b.Fatal(err)
					}
					pending = append(pending, eff...)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "inst/s")
		})
	}
}
