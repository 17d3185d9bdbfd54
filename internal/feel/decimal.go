package feel

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// precision is the number of significant digits a Decimal keeps, as the
// IEEE 754-2008 Decimal128 format DMN prescribes.
const precision = 34

// Exponent bounds of Decimal128; results outside them are null.
const (
	minExp = -6176
	maxExp = 6111
)

// Decimal is a FEEL number: coef × 10^exp with at most 34 significant
// digits. The zero value is 0. Values are immutable.
type Decimal struct {
	coef *big.Int // nil means 0
	exp  int32
}

var (
	bigOne = big.NewInt(1)
	bigTen = big.NewInt(10)
	pow10s [80]*big.Int
)

func init() {
	p := big.NewInt(1)
	for i := range pow10s {
		pow10s[i] = new(big.Int).Set(p)
		p.Mul(p, bigTen)
	}
}

func pow10(n int) *big.Int {
	if n < len(pow10s) {
		return pow10s[n]
	}
	return new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil)
}

// NewDecimal returns the Decimal for an integer.
func NewDecimal(n int64) Decimal {
	if n == 0 {
		return Decimal{}
	}
	return Decimal{coef: big.NewInt(n)}
}

// ParseDecimal reads a decimal number such as "12", "-0.5" or "1.2e3".
func ParseDecimal(s string) (Decimal, bool) {
	if s == "" || len(s) > 10000 {
		return Decimal{}, false
	}
	exp := int64(0)
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.ParseInt(s[i+1:], 10, 32)
		if err != nil {
			return Decimal{}, false
		}
		exp = e
		s = s[:i]
	}
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg = true
		s = s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && frac == "" || hasDot && frac == "" && intPart == "" {
		return Decimal{}, false
	}
	digits := intPart + frac
	for _, c := range digits {
		if c < '0' || c > '9' {
			return Decimal{}, false
		}
	}
	c, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return Decimal{}, false
	}
	if neg {
		c.Neg(c)
	}
	exp -= int64(len(frac))
	if exp < minExp*2 || exp > maxExp*2 {
		return Decimal{}, false
	}
	d, ok := Decimal{coef: c, exp: int32(exp)}.round()
	return d, ok
}

// DecimalFromFloat converts a float64 by its shortest decimal form, so
// 0.1 is 0.1. NaN and infinities have no Decimal.
func DecimalFromFloat(f float64) (Decimal, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Decimal{}, false
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<62 {
		return NewDecimal(int64(f)), true
	}
	return ParseDecimal(strconv.FormatFloat(f, 'g', -1, 64))
}

func (d Decimal) c() *big.Int {
	if d.coef == nil {
		return new(big.Int)
	}
	return d.coef
}

// Sign returns -1, 0 or +1.
func (d Decimal) Sign() int {
	if d.coef == nil {
		return 0
	}
	return d.coef.Sign()
}

func numDigits(x *big.Int) int {
	if x.BitLen() < 60 {
		v := x.Int64()
		if v < 0 {
			v = -v
		}
		n := 1
		for v >= 10 {
			v /= 10
			n++
		}
		return n
	}
	s := x.Text(10)
	if s[0] == '-' {
		return len(s) - 1
	}
	return len(s)
}

// round keeps 34 significant digits (half even) and checks the exponent.
func (d Decimal) round() (Decimal, bool) {
	if d.coef == nil || d.coef.Sign() == 0 {
		return Decimal{}, true
	}
	if d.coef.BitLen() > 112 {
		if n := numDigits(d.coef); n > precision {
			d = divRound(d.coef, pow10(n-precision), int64(d.exp)+int64(n-precision))
		}
	}
	if d.exp < minExp || d.exp > maxExp {
		// Normalise before giving up: 100e6111 fits as 1e6113? no; tiny values become 0.
		if d.exp < minExp {
			return Decimal{}, true
		}
		return Decimal{}, false
	}
	return d, true
}

// divRound divides a by b rounding half even and returns the result with exponent exp.
func divRound(a, b *big.Int, exp int64) Decimal {
	q, r := new(big.Int).QuoRem(a, b, new(big.Int))
	if r.Sign() != 0 {
		r2 := new(big.Int).Abs(r)
		r2.Lsh(r2, 1)
		c := r2.Cmp(new(big.Int).Abs(b))
		if c > 0 || c == 0 && q.Bit(0) == 1 {
			if (a.Sign() < 0) != (b.Sign() < 0) {
				q.Sub(q, bigOne)
			} else {
				q.Add(q, bigOne)
			}
		}
	}
	if numDigits(q) > precision { // rounding carried into a new digit
		q.Quo(q, bigTen)
		exp++
	}
	return Decimal{coef: q, exp: int32(exp)}
}

// align returns the coefficients of a and b at the same exponent.
func align(a, b Decimal) (*big.Int, *big.Int, int32) {
	ac, bc := a.c(), b.c()
	switch {
	case a.exp == b.exp:
		return ac, bc, a.exp
	case a.exp > b.exp:
		return new(big.Int).Mul(ac, pow10(int(a.exp-b.exp))), bc, b.exp
	default:
		return ac, new(big.Int).Mul(bc, pow10(int(b.exp-a.exp))), a.exp
	}
}

// Cmp compares d and e numerically.
func (d Decimal) Cmp(e Decimal) int {
	if d.Sign() != e.Sign() {
		return cmpInt(d.Sign(), e.Sign())
	}
	if d.Sign() == 0 {
		return 0
	}
	if d.exp == e.exp {
		return d.coef.Cmp(e.coef)
	}
	// Compare magnitudes by their adjusted exponents first, to avoid huge alignments.
	ad := int64(numDigits(d.coef)) + int64(d.exp)
	ae := int64(numDigits(e.coef)) + int64(e.exp)
	if ad != ae {
		if d.Sign() > 0 {
			return cmpInt64(ad, ae)
		}
		return cmpInt64(ae, ad)
	}
	a, b, _ := align(d, e)
	return a.Cmp(b)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Add returns d+e; ok is false when the result overflows.
func (d Decimal) Add(e Decimal) (Decimal, bool) {
	if d.Sign() == 0 && d.exp >= e.exp {
		return e, true
	}
	if e.Sign() == 0 && e.exp >= d.exp {
		return d, true
	}
	if gap := int64(d.exp) - int64(e.exp); gap > 2*precision+10 || gap < -(2*precision+10) {
		// One operand is far below the other's last digit: only rounding matters.
		hi, lo := d, e
		if gap < 0 {
			hi, lo = e, d
		}
		shift := 2*precision + 10
		bc := new(big.Int).Mul(hi.c(), pow10(shift))
		if lo.Sign() > 0 {
			bc.Add(bc, bigOne)
		} else if lo.Sign() < 0 {
			bc.Sub(bc, bigOne)
		}
		return Decimal{coef: bc, exp: hi.exp - int32(shift)}.round()
	}
	a, b, exp := align(d, e)
	return Decimal{coef: new(big.Int).Add(a, b), exp: exp}.round()
}

// Sub returns d-e.
func (d Decimal) Sub(e Decimal) (Decimal, bool) { return d.Add(e.Neg()) }

// Neg returns -d.
func (d Decimal) Neg() Decimal {
	if d.Sign() == 0 {
		return d
	}
	return Decimal{coef: new(big.Int).Neg(d.coef), exp: d.exp}
}

// Abs returns |d|.
func (d Decimal) Abs() Decimal {
	if d.Sign() < 0 {
		return d.Neg()
	}
	return d
}

// Mul returns d×e.
func (d Decimal) Mul(e Decimal) (Decimal, bool) {
	if d.Sign() == 0 || e.Sign() == 0 {
		return Decimal{}, true
	}
	return Decimal{coef: new(big.Int).Mul(d.coef, e.coef), exp: d.exp + e.exp}.round()
}

// Quo returns d÷e to 34 significant digits; ok is false for division by zero.
func (d Decimal) Quo(e Decimal) (Decimal, bool) {
	if e.Sign() == 0 {
		return Decimal{}, false
	}
	if d.Sign() == 0 {
		return Decimal{}, true
	}
	shift := precision + numDigits(e.coef) - numDigits(d.coef) + 1
	if shift < 0 {
		shift = 0
	}
	num := new(big.Int).Mul(d.coef, pow10(shift))
	q := divRound(num, e.coef, int64(d.exp)-int64(e.exp)-int64(shift))
	q = q.stripTo(d.exp - e.exp)
	return q.round()
}

// stripTo removes trailing zeros while the exponent is below pref.
func (d Decimal) stripTo(pref int32) Decimal {
	if d.Sign() == 0 {
		return Decimal{}
	}
	c := d.coef
	exp := d.exp
	r := new(big.Int)
	q := new(big.Int)
	for exp < pref {
		q.QuoRem(c, bigTen, r)
		if r.Sign() != 0 {
			break
		}
		c = new(big.Int).Set(q)
		exp++
	}
	return Decimal{coef: c, exp: exp}
}

// Strip removes all trailing zeros: 1.500 becomes 1.5, 100 becomes 1e2.
func (d Decimal) Strip() Decimal { return d.stripTo(math.MaxInt32) }

// IsInteger reports whether d has no fractional part.
func (d Decimal) IsInteger() bool {
	if d.Sign() == 0 || d.exp >= 0 {
		return true
	}
	return d.Strip().exp >= 0
}

// Int64 returns d as an int64 when it is an integer in range.
func (d Decimal) Int64() (int64, bool) {
	if !d.IsInteger() {
		return 0, false
	}
	if d.Sign() == 0 {
		return 0, true
	}
	s := d.Strip()
	if s.exp > 18 {
		return 0, false
	}
	c := new(big.Int).Mul(s.coef, pow10(int(s.exp)))
	if !c.IsInt64() {
		return 0, false
	}
	return c.Int64(), true
}

// Float64 returns the nearest float64.
func (d Decimal) Float64() float64 {
	f, _ := strconv.ParseFloat(d.String(), 64)
	return f
}

// String writes d in plain notation ("1.25", "-3", "1000").
func (d Decimal) String() string {
	if d.Sign() == 0 {
		if d.exp < 0 && d.exp > -40 {
			return "0." + strings.Repeat("0", int(-d.exp))
		}
		return "0"
	}
	s := d.coef.Text(10)
	neg := false
	if s[0] == '-' {
		neg = true
		s = s[1:]
	}
	switch {
	case d.exp >= 0:
		s += strings.Repeat("0", int(d.exp))
	case int(-d.exp) < len(s):
		s = s[:len(s)+int(d.exp)] + "." + s[len(s)+int(d.exp):]
	default:
		s = "0." + strings.Repeat("0", int(-d.exp)-len(s)) + s
	}
	if neg {
		return "-" + s
	}
	return s
}

// MarshalJSON writes d as a JSON number.
func (d Decimal) MarshalJSON() ([]byte, error) { return []byte(d.String()), nil }

// JSON returns d as a json.Number.
func (d Decimal) JSON() json.Number { return json.Number(d.String()) }

// Rounding modes.
type roundMode int

const (
	halfEven roundMode = iota
	halfUp
	halfDown
	roundUp   // away from zero
	roundDown // towards zero
	roundFloor
	roundCeiling
)

// RoundScale rounds d to scale digits after the point.
func (d Decimal) RoundScale(scale int, mode roundMode) (Decimal, bool) {
	if scale > 6176 || scale < -6111 {
		return Decimal{}, false
	}
	if d.Sign() == 0 || int(-d.exp) <= scale {
		if d.Sign() == 0 {
			return Decimal{exp: int32(-scale)}, true
		}
		// Pad to the scale so that decimal(1, 2) prints 1.00.
		if int(-d.exp) < scale {
			return Decimal{coef: new(big.Int).Mul(d.coef, pow10(scale+int(d.exp))), exp: int32(-scale)}.round()
		}
		return d, true
	}
	div := pow10(-scale - int(d.exp))
	q, r := new(big.Int).QuoRem(d.coef, div, new(big.Int))
	if r.Sign() != 0 {
		neg := d.coef.Sign() < 0
		r2 := new(big.Int).Abs(r)
		r2.Lsh(r2, 1)
		half := r2.Cmp(div)
		away := false
		switch mode {
		case halfEven:
			away = half > 0 || half == 0 && q.Bit(0) == 1
		case halfUp:
			away = half >= 0
		case halfDown:
			away = half > 0
		case roundUp:
			away = true
		case roundDown:
			away = false
		case roundFloor:
			away = neg
		case roundCeiling:
			away = !neg
		}
		if away {
			if neg {
				q.Sub(q, bigOne)
			} else {
				q.Add(q, bigOne)
			}
		}
	}
	return Decimal{coef: q, exp: int32(-scale)}.round()
}

// Pow returns d^n for an integer n.
func (d Decimal) Pow(n int64) (Decimal, bool) {
	if n < 0 {
		p, ok := d.Pow(-n)
		if !ok {
			return Decimal{}, false
		}
		return NewDecimal(1).Quo(p)
	}
	res := NewDecimal(1)
	base := d
	ok := true
	for n > 0 {
		if n&1 == 1 {
			if res, ok = res.Mul(base); !ok {
				return Decimal{}, false
			}
		}
		n >>= 1
		if n > 0 {
			if base, ok = base.Mul(base); !ok {
				return Decimal{}, false
			}
		}
	}
	return res, true
}
