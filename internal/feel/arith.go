package feel

import (
	"math"
	"time"
)

// arith applies + - * / ** to two values; null when undefined.
func arith(e *env, op byte, l, r any) any {
	if l == nil || r == nil {
		return nil
	}
	switch x := l.(type) {
	case Decimal:
		switch y := r.(type) {
		case Decimal:
			return numArith(op, x, y)
		case Duration:
			if op == '*' {
				return scaleDuration(y, x, false, halfEven)
			}
		case YearsMonths:
			if op == '*' {
				return scaleDuration(y, x, false, roundDown)
			}
		}
	case string:
		if y, ok := r.(string); ok && op == '+' {
			if !concatLimit(e, len(x)+len(y)) {
				return nil
			}
			return x + y
		}
	case Duration:
		switch r.(type) {
		case Date, DateTime, Time:
			if op == '+' {
				return arith(e, op, r, l)
			}
		}
		return durationArith(op, x, r, halfEven)
	case YearsMonths:
		switch r.(type) {
		case Date, DateTime:
			if op == '+' {
				return arith(e, op, r, l)
			}
		}
		return durationArith(op, x, r, roundDown)
	case Date:
		switch y := r.(type) {
		case Duration:
			if op == '+' || op == '-' {
				d := time.Duration(y)
				if op == '-' {
					d = -d
				}
				return dateOf(x.t().Add(d))
			}
		case YearsMonths:
			if op == '+' || op == '-' {
				n := int64(y)
				if op == '-' {
					n = -n
				}
				return dateOf(addMonths(x.t(), n))
			}
		case Date:
			if op == '-' {
				return Duration(x.t().Sub(y.t()))
			}
		case DateTime:
			if op == '-' {
				if y.Zoned {
					return nil
				}
				return Duration(x.t().Sub(y.T))
			}
		}
	case DateTime:
		switch y := r.(type) {
		case Duration:
			if op == '+' || op == '-' {
				d := time.Duration(y)
				if op == '-' {
					d = -d
				}
				return DateTime{T: x.T.Add(d), Zoned: x.Zoned, Zone: x.Zone}
			}
		case YearsMonths:
			if op == '+' || op == '-' {
				n := int64(y)
				if op == '-' {
					n = -n
				}
				return DateTime{T: addMonths(x.T, n), Zoned: x.Zoned, Zone: x.Zone}
			}
		case DateTime:
			if op == '-' {
				if x.Zoned != y.Zoned {
					return nil
				}
				if !x.Zoned {
					return Duration(wall(x.T).Sub(wall(y.T)))
				}
				return Duration(x.T.Sub(y.T))
			}
		case Date:
			if op == '-' && !x.Zoned {
				return Duration(x.T.Sub(y.t()))
			}
		}
	case Time:
		switch y := r.(type) {
		case Duration:
			if op == '+' || op == '-' {
				d := int64(y)
				if op == '-' {
					d = -d
				}
				return timeFromNanos(x.nanos()+d%int64(24*time.Hour), x)
			}
		case Time:
			if op == '-' {
				if x.HasOffset != y.HasOffset {
					return nil
				}
				if x.HasOffset {
					return Duration(x.utcNanos() - y.utcNanos())
				}
				return Duration(x.nanos() - y.nanos())
			}
		}
	}
	return nil
}

func wall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

func numArith(op byte, x, y Decimal) any {
	var r Decimal
	ok := true
	switch op {
	case '+':
		r, ok = x.Add(y)
	case '-':
		r, ok = x.Sub(y)
	case '*':
		r, ok = x.Mul(y)
	case '/':
		r, ok = x.Quo(y)
	case '^':
		if n, isInt := y.Int64(); isInt && n > -1_000_000 && n < 1_000_000 {
			r, ok = x.Pow(n)
		} else {
			f := math.Pow(x.Float64(), y.Float64())
			r, ok = DecimalFromFloat(f)
		}
	}
	if !ok {
		return nil
	}
	return r
}

// durationArith is + - / between durations of one kind and * / by a
// number; mode rounds a scaled duration to whole nanoseconds or months.
func durationArith[T Duration | YearsMonths](op byte, x T, r any, mode roundMode) any {
	switch y := r.(type) {
	case T:
		switch op {
		case '+':
			return x + y
		case '-':
			return x - y
		case '/':
			if y == 0 {
				return nil
			}
			q, _ := NewDecimal(int64(x)).Quo(NewDecimal(int64(y)))
			return q
		}
	case Decimal:
		if op == '*' || op == '/' {
			return scaleDuration(x, y, op == '/', mode)
		}
	}
	return nil
}

func scaleDuration[T Duration | YearsMonths](d T, n Decimal, div bool, mode roundMode) any {
	var r Decimal
	var ok bool
	if div {
		r, ok = NewDecimal(int64(d)).Quo(n)
	} else {
		r, ok = NewDecimal(int64(d)).Mul(n)
	}
	if !ok {
		return nil
	}
	r, _ = r.RoundScale(0, mode)
	v, ok := r.Int64()
	if !ok {
		return nil
	}
	return T(v)
}
