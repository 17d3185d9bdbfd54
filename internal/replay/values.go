package replay

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/batonhq/baton/internal/engine"
)

// Values as they are stored and shown in a report.

// normalize passes a value through JSON, as it would be stored: numbers
// become float64, structs maps.
func normalize(v any) any {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return string(b)
	}
	return out
}

func rawValue(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	return v
}

// compact renders a value as short JSON.
func compact(v any) string {
	if v == nil {
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	const limit = 200
	if len(b) > limit {
		return string(b[:limit]) + "…"
	}
	return string(b)
}

func entryText(node, action string, result any) string {
	if node == "" {
		node = "(instance)"
	}
	s := node + " " + action
	if result != nil {
		s += " " + compact(result)
	}
	return s
}

// tokensText lists where the tokens are: "review (task x-5), join (join)".
func tokensText(st *engine.State, refs bool) string {
	if len(st.Tokens) == 0 {
		return "(none)"
	}
	parts := make([]string, 0, len(st.Tokens))
	for _, t := range st.Tokens {
		w := string(t.Wait)
		if w == "" {
			w = "moving"
		}
		if refs && t.Ref != "" {
			w += " " + t.Ref
		}
		parts = append(parts, t.Node+" ("+w+")")
	}
	if !refs {
		sort.Strings(parts)
	}
	return strings.Join(parts, ", ")
}

func unionKeys(a, b map[string]any) []string {
	seen := make(map[string]bool, len(a)+len(b))
	var out []string
	for _, m := range []map[string]any{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}
