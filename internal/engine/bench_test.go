package engine

import (
	"testing"
)

// benchRun drives one instance to completion, completing every job at once
// (the in-memory equivalent of lib-bpmn-engine's handler returning).
func benchRun(b *testing.B, src string, vars func(i int) map[string]any) {
	d, err := parseForBench(src)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		st, eff, err := Step(d, nil, Command{Kind: CmdStart, Time: t0, InstanceID: "i", Variables: vars(i)})
		if err != nil {
			b.Fatal(err)
		}
		for st.Status != StatusCompleted {
			var job string
			for _, e := range eff {
				if e.Kind == EffJob {
					job = e.ID
					break
				}
			}
			if job == "" {
				b.Fatalf("stuck: %+v", st)
			}
			st, eff, err = Step(d, st, Command{Kind: CmdCompleteJob, Time: t0, Ref: job})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkStraightJSON(b *testing.B) {
	benchRun(b, straight, func(int) map[string]any { return nil })
}
