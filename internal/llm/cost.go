package llm

import "strings"

// Price is what a model costs, in micro-dollars (millionths of a US
// dollar) per million tokens. $3 per million input tokens is
// Price{InputPerMTok: 3_000_000}.
type Price struct {
	InputPerMTok  int64 `json:"input_per_mtok"`
	OutputPerMTok int64 `json:"output_per_mtok"`
}

// Pricing maps a model name to its price. A key matches the model name
// exactly or as a prefix (so "claude-sonnet-4-5" also prices
// "claude-sonnet-4-5-20250929"); the longest matching key wins. Operators
// configure it; [ExamplePricing] only shows the shape.
type Pricing map[string]Price

// Lookup returns the price for model.
func (p Pricing) Lookup(model string) (Price, bool) {
	if pr, ok := p[model]; ok {
		return pr, true
	}
	best, found := "", false
	for k := range p {
		if k != "" && strings.HasPrefix(model, k) && len(k) > len(best) {
			best, found = k, true
		}
	}
	if !found {
		return Price{}, false
	}
	return p[best], true
}

// Cost returns what usage of model cost in micro-dollars, rounded up. A
// model without a price (a local model, say) costs 0. Negative figures
// count as 0 and the result saturates at math.MaxInt64.
func (p Pricing) Cost(model string, u Usage) int64 {
	pr, ok := p.Lookup(model)
	if !ok {
		return 0
	}
	// Saturating: no usage figure, however absurd, turns a cost negative.
	const perMillion = 1_000_000
	total := AddSat(MulSat(int64(max(u.InputTokens, 0)), pr.InputPerMTok), MulSat(int64(max(u.OutputTokens, 0)), pr.OutputPerMTok))
	return total/perMillion + min(total%perMillion, 1)
}

// ExamplePricing returns a small table of EXAMPLE list prices (USD, per
// million tokens, as published by the vendors in 2025). They are not kept
// up to date and are not a source of truth: configure the prices you pay.
// Each call returns a new map, so callers may change it.
func ExamplePricing() Pricing {
	return Pricing{
		// Example only: Anthropic list prices, 2025.
		"claude-opus-4-5":   {InputPerMTok: 5_000_000, OutputPerMTok: 25_000_000},
		"claude-sonnet-4-5": {InputPerMTok: 3_000_000, OutputPerMTok: 15_000_000},
		"claude-haiku-4-5":  {InputPerMTok: 1_000_000, OutputPerMTok: 5_000_000},
		// Example only: OpenAI list prices, 2025.
		"gpt-4.1":      {InputPerMTok: 2_000_000, OutputPerMTok: 8_000_000},
		"gpt-4.1-mini": {InputPerMTok: 400_000, OutputPerMTok: 1_600_000},
		"gpt-4o-mini":  {InputPerMTok: 150_000, OutputPerMTok: 600_000},
	}
}
