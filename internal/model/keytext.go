package model

import (
	"fmt"
	"math"
	"strconv"
)

// KeyText is the text of a correlation key, business key or message id
// that an expression computed. Every side of a correlation renders keys
// with it — the engine when a catch event subscribes, broker sources and
// webhooks when a message arrives — so that the same value gives the same
// text on both sides. An integral number is written without a fraction or
// exponent (1500000, not 1.5e+06, which is what fmt gives a float64 of
// JSON), since that is how a client types the key it sends.
func KeyText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case float32:
		return KeyText(float64(x))
	}
	return fmt.Sprint(v)
}
