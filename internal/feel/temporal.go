package feel

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // IANA zones on any host
)

// Date is a FEEL date (a calendar day, no zone).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// Time is a FEEL time of day, local or with an offset or a zone.
type Time struct {
	Hour, Minute, Second, Nanosecond int
	HasOffset                        bool
	Offset                           int    // seconds east of UTC, with HasOffset
	Zone                             string // IANA zone id, or ""
}

// DateTime is a FEEL date and time. A local value (Zoned false) keeps its
// wall clock in T with location UTC; a zoned one carries its offset or
// IANA zone (Zone) in T's location.
type DateTime struct {
	T     time.Time
	Zoned bool
	Zone  string
}

// Duration is a FEEL days and time duration.
type Duration time.Duration

// YearsMonths is a FEEL years and months duration, in months.
type YearsMonths int64

func (d Date) t() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

func dateOf(t time.Time) Date { return Date{t.Year(), t.Month(), t.Day()} }

func (d Date) String() string {
	if d.Year < 0 {
		return fmt.Sprintf("-%04d-%02d-%02d", -d.Year, d.Month, d.Day)
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

func clockString(h, m, s, ns int) string {
	out := fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	if ns != 0 {
		f := strings.TrimRight(fmt.Sprintf("%09d", ns), "0")
		out += "." + f
	}
	return out
}

func offsetString(sec int) string {
	if sec == 0 {
		return "Z"
	}
	sign := '+'
	if sec < 0 {
		sign = '-'
		sec = -sec
	}
	s := fmt.Sprintf("%c%02d:%02d", sign, sec/3600, sec/60%60)
	if sec%60 != 0 {
		s += fmt.Sprintf(":%02d", sec%60)
	}
	return s
}

func (t Time) String() string {
	s := clockString(t.Hour, t.Minute, t.Second, t.Nanosecond)
	switch {
	case t.Zone != "":
		return s + "@" + t.Zone
	case t.HasOffset:
		return s + offsetString(t.Offset)
	}
	return s
}

// nanos returns the time of day in nanoseconds.
func (t Time) nanos() int64 {
	return int64(t.Hour)*int64(time.Hour) + int64(t.Minute)*int64(time.Minute) + int64(t.Second)*int64(time.Second) + int64(t.Nanosecond)
}

// utcNanos returns the time of day shifted to UTC (for zoned times).
func (t Time) utcNanos() int64 {
	off := t.Offset
	if t.Zone != "" {
		if loc, err := time.LoadLocation(t.Zone); err == nil {
			_, off = time.Date(1970, 1, 1, t.Hour, t.Minute, t.Second, 0, loc).Zone()
		}
	}
	return t.nanos() - int64(off)*int64(time.Second)
}

func timeFromNanos(n int64, like Time) Time {
	day := int64(24 * time.Hour)
	n %= day
	if n < 0 {
		n += day
	}
	like.Hour = int(n / int64(time.Hour))
	like.Minute = int(n / int64(time.Minute) % 60)
	like.Second = int(n / int64(time.Second) % 60)
	like.Nanosecond = int(n % int64(time.Second))
	return like
}

func (d DateTime) String() string {
	t := d.T
	s := dateOf(t).String() + "T" + clockString(t.Hour(), t.Minute(), t.Second(), t.Nanosecond())
	if !d.Zoned {
		return s
	}
	if d.Zone != "" {
		return s + "@" + d.Zone
	}
	_, off := t.Zone()
	return s + offsetString(off)
}

func (d Duration) String() string {
	n := int64(d)
	if n == 0 {
		return "P0D"
	}
	sign := ""
	if n < 0 {
		sign = "-"
		n = -n
	}
	days := n / int64(24*time.Hour)
	n %= int64(24 * time.Hour)
	h := n / int64(time.Hour)
	m := n / int64(time.Minute) % 60
	s := n / int64(time.Second) % 60
	ns := n % int64(time.Second)
	var b strings.Builder
	b.WriteString(sign + "P")
	if days != 0 {
		fmt.Fprintf(&b, "%dD", days)
	}
	if h != 0 || m != 0 || s != 0 || ns != 0 {
		b.WriteString("T")
		if h != 0 {
			fmt.Fprintf(&b, "%dH", h)
		}
		if m != 0 {
			fmt.Fprintf(&b, "%dM", m)
		}
		if s != 0 || ns != 0 {
			fmt.Fprintf(&b, "%d", s)
			if ns != 0 {
				b.WriteString("." + strings.TrimRight(fmt.Sprintf("%09d", ns), "0"))
			}
			b.WriteString("S")
		}
	}
	return b.String()
}

func (y YearsMonths) String() string {
	n := int64(y)
	sign := ""
	if n < 0 {
		sign = "-"
		n = -n
	}
	switch {
	case n == 0:
		return "P0Y"
	case n%12 == 0:
		return fmt.Sprintf("%sP%dY", sign, n/12)
	case n < 12:
		return fmt.Sprintf("%sP%dM", sign, n)
	}
	return fmt.Sprintf("%sP%dY%dM", sign, n/12, n%12)
}

var (
	reDate     = regexp.MustCompile(`^(-?\d{4,9})-(\d{2})-(\d{2})$`)
	reTime     = regexp.MustCompile(`^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2}(?::\d{2})?)?(?:@(.+)|\[(.+)\])?$`)
	reDuration = regexp.MustCompile(`^([-+]?)P(?:([-+]?\d+)Y)?(?:([-+]?\d+)M)?(?:([-+]?\d+)W)?(?:([-+]?\d+)D)?(?:T(?:([-+]?\d+)H)?(?:([-+]?\d+)M)?(?:([-+]?\d+)(?:\.(\d{1,9}))?S)?)?$`)
)

func parseDate(s string) (Date, bool) {
	m := reDate.FindStringSubmatch(s)
	if m == nil {
		return Date{}, false
	}
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	d, _ := strconv.Atoi(m[3])
	return makeDate(y, mo, d)
}

func makeDate(y, mo, d int) (Date, bool) {
	if mo < 1 || mo > 12 || d < 1 || d > 31 || y < -999999999 || y > 999999999 {
		return Date{}, false
	}
	t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d {
		return Date{}, false
	}
	return Date{y, time.Month(mo), d}, true
}

var reOffset = regexp.MustCompile(`^[+-]\d{2}:\d{2}(:\d{2})?$`)

func parseOffset(s string) (int, bool) {
	if s == "Z" {
		return 0, true
	}
	if !reOffset.MatchString(s) {
		return 0, false
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	parts := strings.Split(s[1:], ":")
	h, _ := strconv.Atoi(parts[0])
	m, _ := strconv.Atoi(parts[1])
	sec := 0
	if len(parts) > 2 {
		sec, _ = strconv.Atoi(parts[2])
	}
	if h > 18 || m > 59 || sec > 59 {
		return 0, false
	}
	return sign * (h*3600 + m*60 + sec), true
}

func parseTime(s string) (Time, bool) {
	s = strings.TrimPrefix(s, "T")
	m := reTime.FindStringSubmatch(s)
	if m == nil {
		return Time{}, false
	}
	var t Time
	t.Hour, _ = strconv.Atoi(m[1])
	t.Minute, _ = strconv.Atoi(m[2])
	if m[3] != "" {
		t.Second, _ = strconv.Atoi(m[3])
	}
	if m[4] != "" {
		f := m[4] + strings.Repeat("0", 9-len(m[4]))
		t.Nanosecond, _ = strconv.Atoi(f)
	}
	if t.Hour > 23 || t.Minute > 59 || t.Second > 59 {
		if !(t.Hour == 24 && t.Minute == 0 && t.Second == 0 && t.Nanosecond == 0) {
			return Time{}, false
		}
		t.Hour = 0
	}
	if m[5] != "" {
		off, ok := parseOffset(m[5])
		if !ok {
			return Time{}, false
		}
		t.HasOffset, t.Offset = true, off
	}
	zone := m[6] + m[7]
	if zone != "" {
		loc, ok := loadZone(zone)
		if !ok {
			return Time{}, false
		}
		_, t.Offset = time.Date(1970, 1, 1, t.Hour, t.Minute, t.Second, 0, loc).Zone()
		t.HasOffset = true
		t.Zone = zone
	}
	return t, true
}

func loadZone(z string) (*time.Location, bool) {
	if z == "" || strings.ContainsAny(z, " \\") || len(z) > 64 {
		return nil, false
	}
	if z == "Z" {
		return time.UTC, true
	}
	loc, err := time.LoadLocation(z)
	if err != nil {
		if off, ok := parseOffset(z); ok {
			return time.FixedZone("", off), true
		}
		return nil, false
	}
	return loc, true
}

func parseDateTime(s string) (DateTime, bool) {
	ds, ts, found := strings.Cut(s, "T")
	if !found {
		d, ok := parseDate(s)
		if !ok {
			return DateTime{}, false
		}
		return DateTime{T: d.t()}, true
	}
	d, ok := parseDate(ds)
	if !ok {
		return DateTime{}, false
	}
	t, ok := parseTime(ts)
	if !ok {
		return DateTime{}, false
	}
	if strings.HasPrefix(ts, "24") {
		d = dateOf(d.t().AddDate(0, 0, 1))
	}
	return combine(d, t)
}

// combine joins a date and a time of day into a date and time.
func combine(d Date, t Time) (DateTime, bool) {
	if !t.HasOffset {
		return DateTime{T: time.Date(d.Year, d.Month, d.Day, t.Hour, t.Minute, t.Second, t.Nanosecond, time.UTC)}, true
	}
	if t.Zone != "" {
		loc, ok := loadZone(t.Zone)
		if !ok {
			return DateTime{}, false
		}
		return DateTime{T: time.Date(d.Year, d.Month, d.Day, t.Hour, t.Minute, t.Second, t.Nanosecond, loc), Zoned: true, Zone: t.Zone}, true
	}
	loc := time.FixedZone("", t.Offset)
	if t.Offset == 0 {
		loc = time.UTC
	}
	return DateTime{T: time.Date(d.Year, d.Month, d.Day, t.Hour, t.Minute, t.Second, t.Nanosecond, loc), Zoned: true}, true
}

func timeOfDateTime(d DateTime) Time {
	t := d.T
	out := Time{Hour: t.Hour(), Minute: t.Minute(), Second: t.Second(), Nanosecond: t.Nanosecond()}
	if d.Zoned {
		_, out.Offset = t.Zone()
		out.HasOffset = true
	}
	return out
}

// parseDuration reads an ISO 8601 duration; the result is a Duration or
// a YearsMonths.
func parseDuration(s string) (any, bool) {
	m := reDuration.FindStringSubmatch(s)
	if m == nil || s == "P" || s == "-P" || strings.HasSuffix(s, "T") {
		return nil, false
	}
	neg := m[1] == "-"
	num := func(i int) int64 {
		if m[i] == "" {
			return 0
		}
		n, err := strconv.ParseInt(m[i], 10, 64)
		if err != nil || n > 1e12 || n < -1e12 {
			return 1 << 62
		}
		return n
	}
	ymSet := m[2] != "" || m[3] != ""
	dtSet := m[4] != "" || m[5] != "" || m[6] != "" || m[7] != "" || m[8] != ""
	if ymSet && dtSet {
		return nil, false
	}
	if ymSet {
		n := num(2)*12 + num(3)
		if n > 1<<40 || n < -(1<<40) {
			return nil, false
		}
		if neg {
			n = -n
		}
		return YearsMonths(n), true
	}
	secs := num(4)*7*86400 + num(5)*86400 + num(6)*3600 + num(7)*60 + num(8)
	if secs > 9e9 || secs < -9e9 {
		return nil, false
	}
	ns := secs * int64(time.Second)
	if m[9] != "" {
		f, _ := strconv.Atoi(m[9] + strings.Repeat("0", 9-len(m[9])))
		if strings.HasPrefix(m[8], "-") {
			ns -= int64(f)
		} else {
			ns += int64(f)
		}
	}
	if neg {
		ns = -ns
	}
	return Duration(ns), true
}

// compareTemporal orders two temporal values of the same type; eq asks for
// equality, which for times and dates and times also compares offsets.
func compareTemporal(a, b any, eq bool) (int, bool) {
	switch x := a.(type) {
	case Date:
		y := b.(Date)
		return x.t().Compare(y.t()), true
	case Time:
		y := b.(Time)
		if x.HasOffset != y.HasOffset {
			return 0, false
		}
		if !x.HasOffset {
			return cmpInt64(x.nanos(), y.nanos()), true
		}
		if eq {
			if x.Offset != y.Offset {
				return 1, true
			}
			return cmpInt64(x.nanos(), y.nanos()), true
		}
		return cmpInt64(x.utcNanos(), y.utcNanos()), true
	case DateTime:
		y := b.(DateTime)
		if x.Zoned != y.Zoned {
			return 0, false
		}
		if !x.Zoned {
			xt := time.Date(x.T.Year(), x.T.Month(), x.T.Day(), x.T.Hour(), x.T.Minute(), x.T.Second(), x.T.Nanosecond(), time.UTC)
			yt := time.Date(y.T.Year(), y.T.Month(), y.T.Day(), y.T.Hour(), y.T.Minute(), y.T.Second(), y.T.Nanosecond(), time.UTC)
			return xt.Compare(yt), true
		}
		return x.T.Compare(y.T), true
	case Duration:
		return cmpInt64(int64(x), int64(b.(Duration))), true
	case YearsMonths:
		return cmpInt64(int64(x), int64(b.(YearsMonths))), true
	}
	return 0, false
}

// addMonths adds n months to t, clamping the day to the month's end.
func addMonths(t time.Time, n int64) time.Time {
	y, m, d := t.Date()
	total := int64(y)*12 + int64(m-1) + n
	ny, nm := int(total/12), time.Month(total%12+1)
	if total < 0 && total%12 != 0 {
		ny, nm = int(total/12)-1, time.Month(total%12+13)
	}
	last := time.Date(ny, nm+1, 0, 0, 0, 0, 0, time.UTC).Day()
	if d > last {
		d = last
	}
	return time.Date(ny, nm, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
}

// temporalProperty returns a property such as date.year; ok is false for
// an unknown name.
func temporalProperty(v any, name string) (any, bool) {
	switch x := v.(type) {
	case Date:
		return dateProperty(x.t(), name)
	case DateTime:
		if p, ok := dateProperty(x.T, name); ok {
			return p, true
		}
		return timeProperty(timeOfDateTime(x), name)
	case Time:
		return timeProperty(x, name)
	case Duration:
		n := int64(x)
		switch name {
		case "days":
			return NewDecimal(n / int64(24*time.Hour)), true
		case "hours":
			return NewDecimal(n / int64(time.Hour) % 24), true
		case "minutes":
			return NewDecimal(n / int64(time.Minute) % 60), true
		case "seconds":
			return NewDecimal(n / int64(time.Second) % 60), true
		}
	case YearsMonths:
		switch name {
		case "years":
			return NewDecimal(int64(x) / 12), true
		case "months":
			return NewDecimal(int64(x) % 12), true
		}
	case *Range:
		switch name {
		case "start":
			return x.Start, true
		case "end":
			return x.End, true
		case "start included":
			return x.StartIncl, true
		case "end included":
			return x.EndIncl, true
		}
	}
	return nil, false
}

func dateProperty(t time.Time, name string) (any, bool) {
	switch name {
	case "year":
		return NewDecimal(int64(t.Year())), true
	case "month":
		return NewDecimal(int64(t.Month())), true
	case "day":
		return NewDecimal(int64(t.Day())), true
	case "weekday":
		wd := int64(t.Weekday())
		if wd == 0 {
			wd = 7
		}
		return NewDecimal(wd), true
	}
	return nil, false
}

func timeProperty(t Time, name string) (any, bool) {
	switch name {
	case "hour":
		return NewDecimal(int64(t.Hour)), true
	case "minute":
		return NewDecimal(int64(t.Minute)), true
	case "second":
		return NewDecimal(int64(t.Second)), true
	case "time offset":
		if !t.HasOffset {
			return nil, true
		}
		return Duration(int64(t.Offset) * int64(time.Second)), true
	case "timezone":
		if t.Zone == "" {
			return nil, true
		}
		return t.Zone, true
	}
	return nil, false
}
