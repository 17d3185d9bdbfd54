package model

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseRetention parses how long ended instances are kept: a number of
// days ("30d"), a Go duration ("12h", "90m", "1h30m") or an ISO 8601
// duration ("P30D", "PT12H"). It must be positive.
func ParseRetention(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	var d time.Duration
	var err error
	switch {
	case t == "":
		return 0, fmt.Errorf("retention: empty (want a duration such as 30d, 12h or P30D)")
	case strings.HasPrefix(t, "P") || strings.HasPrefix(t, "-P"):
		d, err = ParseDuration(t)
	case strings.HasSuffix(t, "d"):
		n, perr := strconv.ParseFloat(strings.TrimSuffix(t, "d"), 64)
		if perr != nil || n > 1e6 {
			err = fmt.Errorf("retention %q: not a number of days", s)
		}
		d = time.Duration(n * float64(24*time.Hour))
	default:
		d, err = time.ParseDuration(t)
	}
	if err != nil {
		return 0, fmt.Errorf("retention %q: want a duration such as 30d, 12h or P30D: %w", s, err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("retention %q: must be more than zero", s)
	}
	return d, nil
}

// RetentionPeriod is how long the definition's ended instances are kept
// (Retention parsed); 0 when it sets none. Build has checked it.
func (d *Definition) RetentionPeriod() time.Duration {
	if d.Retention == "" {
		return 0
	}
	p, err := ParseRetention(d.Retention)
	if err != nil {
		return 0
	}
	return p
}

// checkRetention refuses a retention that does not parse.
func (b *builder) checkRetention() {
	if b.d.Retention == "" {
		return
	}
	if _, err := ParseRetention(b.d.Retention); err != nil {
		b.errf(0, "", "retention", "%v", err)
	}
}
