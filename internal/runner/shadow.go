package runner

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/batonhq/baton/internal/model"
)

// ShadowStats reports how an LLM gateway in shadow mode would have routed
// compared with its conditions.
type ShadowStats struct {
	DefinitionID string `json:"definitionId"`
	NodeID       string `json:"nodeId"`
	Decisions    int    `json:"decisions"`
	Agreed       int    `json:"agreed"`
	Disagreed    int    `json:"disagreed"`
	// Fallbacks counts calls that gave no usable answer.
	Fallbacks int `json:"fallbacks"`
	// Pairs counts "routed → model" flow pairs of the disagreements.
	Pairs map[string]int `json:"disagreements"`
	// AgreementRate is Agreed / (Agreed + Disagreed).
	AgreementRate float64 `json:"agreementRate"`
}

// ShadowReport aggregates the recorded shadow decisions of every gateway
// in shadow mode (of one definition when definitionID is set, latest
// versions).
func (r *Runner) ShadowReport(ctx context.Context, definitionID string) ([]ShadowStats, error) {
	defs, err := r.st.Definitions(ctx)
	if err != nil {
		return nil, err
	}
	instDef := map[string]string{}
	var out []ShadowStats
	for _, row := range defs {
		if definitionID != "" && row.ID != definitionID {
			continue
		}
		d, _, err := r.Definition(ctx, row.ID, row.Version)
		if err != nil {
			continue
		}
		for _, n := range d.Nodes {
			if n.Type != model.ExclusiveGateway || n.LLM == nil || n.LLM.Mode != "shadow" {
				continue
			}
			s := ShadowStats{DefinitionID: row.ID, NodeID: n.ID, Pairs: map[string]int{}}
			after := ""
			for {
				rows, err := r.st.DecisionsByNode(ctx, n.ID, after, 1000)
				if err != nil {
					return nil, err
				}
				for _, dr := range rows {
					def, ok := instDef[dr.InstanceID]
					if !ok {
						if ir, err := r.st.Instance(ctx, dr.InstanceID); err == nil {
							def = ir.DefinitionID
						}
						instDef[dr.InstanceID] = def
					}
					if def != row.ID {
						continue
					}
					var dec struct {
						Shadow   bool   `json:"shadow"`
						Agree    bool   `json:"agree"`
						Flow     string `json:"flow"`
						Routed   string `json:"routed"`
						Fallback string `json:"fallback"`
					}
					if json.Unmarshal(dr.Decision, &dec) != nil || !dec.Shadow {
						continue
					}
					s.Decisions++
					switch {
					case dec.Fallback != "":
						s.Fallbacks++
					case dec.Agree:
						s.Agreed++
					default:
						s.Disagreed++
						s.Pairs[dec.Routed+" → "+dec.Flow]++
					}
				}
				if len(rows) < 1000 {
					break
				}
				after = rows[len(rows)-1].ID
			}
			if s.Agreed+s.Disagreed > 0 {
				s.AgreementRate = float64(s.Agreed) / float64(s.Agreed+s.Disagreed)
			}
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].DefinitionID != out[j].DefinitionID {
			return out[i].DefinitionID < out[j].DefinitionID
		}
		return out[i].NodeID < out[j].NodeID
	})
	return out, nil
}
