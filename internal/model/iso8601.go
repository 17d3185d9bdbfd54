package model

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses an ISO 8601 duration such as "PT5M", "P1DT2H" or
// "P2W". Years and months are counted as 365 and 30 days.
func ParseDuration(s string) (time.Duration, error) {
	orig := s
	s = strings.TrimSpace(s)
	bad := func(why string) (time.Duration, error) {
		return 0, fmt.Errorf("invalid ISO 8601 duration %q: %s", orig, why)
	}
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	if !strings.HasPrefix(s, "P") || len(s) < 2 {
		return bad(`must start with "P" and give at least one part`)
	}
	s = s[1:]
	var total float64
	inTime, parts := false, 0
	for len(s) > 0 {
		if s[0] == 'T' {
			if inTime {
				return bad(`"T" appears twice`)
			}
			inTime, s = true, s[1:]
			if s == "" {
				return bad(`nothing after "T"`)
			}
			continue
		}
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' || s[i] == ',') {
			i++
		}
		if i == 0 || i == len(s) {
			return bad("expected a number followed by a unit")
		}
		v, err := strconv.ParseFloat(strings.ReplaceAll(s[:i], ",", "."), 64)
		if err != nil {
			return bad("bad number " + s[:i])
		}
		var unit float64
		switch u := s[i]; {
		case !inTime && u == 'Y':
			unit = 365 * 24 * 3600
		case !inTime && u == 'M':
			unit = 30 * 24 * 3600
		case !inTime && u == 'W':
			unit = 7 * 24 * 3600
		case !inTime && u == 'D':
			unit = 24 * 3600
		case inTime && u == 'H':
			unit = 3600
		case inTime && u == 'M':
			unit = 60
		case inTime && u == 'S':
			unit = 1
		default:
			return bad(fmt.Sprintf("unexpected unit %q", u))
		}
		total += v * unit
		parts++
		s = s[i+1:]
	}
	if parts == 0 {
		return bad("no parts")
	}
	if total > float64(100*365*24*3600) {
		return bad("longer than 100 years")
	}
	d := time.Duration(total * float64(time.Second))
	if neg {
		d = -d
	}
	return d, nil
}

// ParseDate parses an ISO 8601 date-time ("2026-01-02T15:04:05Z", with
// offset or fractional seconds) or a date ("2026-01-02", midnight UTC).
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid ISO 8601 date %q", s)
}

// Cycle is a parsed repeating interval: Repeat times (−1 for unbounded),
// every Interval, optionally starting at Start.
type Cycle struct {
	Repeat   int
	Start    time.Time
	Interval time.Duration
}

// ParseCycle parses "R3/PT10M", "R/PT1H", "R5/2026-01-01T00:00:00Z/P1D".
func ParseCycle(s string) (Cycle, error) {
	orig := s
	s = strings.TrimSpace(s)
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || !strings.HasPrefix(parts[0], "R") {
		return Cycle{}, fmt.Errorf("invalid ISO 8601 cycle %q: want R[n]/[start/]duration", orig)
	}
	c := Cycle{Repeat: -1}
	if r := parts[0][1:]; r != "" {
		n, err := strconv.Atoi(r)
		if err != nil || n < 0 {
			return Cycle{}, fmt.Errorf("invalid ISO 8601 cycle %q: bad repeat count %q", orig, r)
		}
		c.Repeat = n
	}
	if len(parts) == 3 {
		t, err := ParseDate(parts[1])
		if err != nil {
			return Cycle{}, fmt.Errorf("invalid ISO 8601 cycle %q: %v", orig, err)
		}
		c.Start = t
	}
	d, err := ParseDuration(parts[len(parts)-1])
	if err != nil {
		return Cycle{}, fmt.Errorf("invalid ISO 8601 cycle %q: %v", orig, err)
	}
	if d <= 0 {
		return Cycle{}, fmt.Errorf("invalid ISO 8601 cycle %q: interval must be positive", orig)
	}
	c.Interval = d
	return c, nil
}
