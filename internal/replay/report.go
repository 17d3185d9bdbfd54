package replay

import (
	"fmt"
	"strings"
)

// Text renders the report for people: what was replayed, the verdict,
// each divergence with the recorded and the replayed value, and the LLM
// answers reused from the recording.
func (r Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "replay of instance %s on %s", r.InstanceID, r.Definition)
	if r.Against != "" {
		fmt.Fprintf(&b, ", against the changed definition %s", r.Against)
	}
	fmt.Fprintf(&b, ": %d recorded command%s\n", r.Commands, plural(r.Commands))
	if r.Identical {
		fmt.Fprintf(&b, "identical: %d command%s applied, %d history entr%s, final status %s\n",
			r.Applied, plural(r.Applied), r.HistoryEntries, pluralY(r.HistoryEntries), r.ReplayedStatus)
	} else {
		n := len(r.Divergences) + r.More
		fmt.Fprintf(&b, "DIVERGED: %d difference%s (%d of %d commands applied; final status %s, recorded %s)\n",
			n, plural(n), r.Applied, r.Commands, r.ReplayedStatus, r.RecordedStatus)
		for i, d := range r.Divergences {
			fmt.Fprintf(&b, "  %d. [%s] %s\n", i+1, d.Kind, d.Message)
			if d.Expected != "" || d.Got != "" {
				fmt.Fprintf(&b, "       recorded: %s\n", orNothing(d.Expected))
				fmt.Fprintf(&b, "       replay:   %s\n", orNothing(d.Got))
			}
		}
		if r.More > 0 {
			fmt.Fprintf(&b, "  … and %d more\n", r.More)
		}
	}
	if len(r.Reused) > 0 {
		fmt.Fprintf(&b, "reused %d recorded LLM answer%s (no model was asked):\n", len(r.Reused), plural(len(r.Reused)))
		for _, u := range r.Reused {
			fmt.Fprintf(&b, "  command %d: %s (%s) → %s", u.Command, u.NodeID, u.JobType, u.Answer)
			if u.DecisionID != "" {
				fmt.Fprintf(&b, " [decision %s", u.DecisionID)
				if u.Provider != "" || u.Model != "" {
					fmt.Fprintf(&b, ", %s", strings.TrimSpace(u.Provider+" "+u.Model))
				}
				b.WriteString("]")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func pluralY(n int) string {
	if n == 1 {
		return "y"
	}
	return "ies"
}

func orNothing(s string) string {
	if s == "" {
		return "(nothing)"
	}
	return s
}
