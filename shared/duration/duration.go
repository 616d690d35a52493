// Package duration parses the durations kubecerts accepts on the command line
// and formats residual times the way kubeadm prints them.
//
// Parse accepts, with one parser for every flag of every plugin:
//   - Go durations: 720h, 90m, 1h30m, 10s
//   - days, weeks and years, alone or combined with Go units: 30d, 2w, 1y, 1d12h
//   - ISO 8601 durations: P30D, P5DT5H, P1Y2M, PT36H, P2W
//
// A year is 365 days and a month 30 days: certificate lifetimes are counted in
// days, and the result is exact, unlike calendar arithmetic that depends on the
// start date. Negative durations are refused.
package duration

import (
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"
)

// Units beyond Go's own.
const (
	Day   = 24 * time.Hour
	Week  = 7 * Day
	Month = 30 * Day
	Year  = 365 * Day
)

var shortUnits = map[string]time.Duration{
	"ns": time.Nanosecond,
	"us": time.Microsecond,
	"µs": time.Microsecond,
	"ms": time.Millisecond,
	"s":  time.Second,
	"m":  time.Minute,
	"h":  time.Hour,
	"d":  Day,
	"w":  Week,
	"y":  Year,
}

// Parse parses s in any of the accepted forms.
func Parse(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("invalid duration %q: empty", s)
	}
	if in[0] == '-' {
		return 0, fmt.Errorf("invalid duration %q: must not be negative", s)
	}
	if in[0] == 'P' || in[0] == 'p' {
		d, err := parseISO8601(in)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: %v", s, err)
		}
		return d, nil
	}
	d, err := parseShort(in)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: %v (use e.g. 720h, 30d, 2w, 1y or P30D)", s, err)
	}
	return d, nil
}

// parseShort parses a sequence of number-unit pairs such as 1y2w3d4h5m.
func parseShort(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	if s[0] == '+' {
		s = s[1:]
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("expected a number at %q", s)
		}
		num := s[:i]
		s = s[i:]
		j := 0
		for j < len(s) && !(s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
			j++
		}
		unitName := s[:j]
		s = s[j:]
		if unitName == "" {
			return 0, fmt.Errorf("missing unit after %s", num)
		}
		unit, ok := shortUnits[unitName]
		if !ok {
			return 0, fmt.Errorf("unknown unit %q", unitName)
		}
		d, err := scale(num, unit)
		if err != nil {
			return 0, err
		}
		if total, err = add(total, d); err != nil {
			return 0, err
		}
	}
	return total, nil
}

// parseISO8601 parses PnYnMnWnDTnHnMnS; only the last component may have a
// fraction, and at least one component must be present.
func parseISO8601(s string) (time.Duration, error) {
	rest := strings.ToUpper(s[1:])
	if rest == "" {
		return 0, fmt.Errorf("no components after P")
	}
	var total time.Duration
	inTime := false
	seen := 0
	fraction := false
	order := "YMWD"
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return 0, fmt.Errorf("the time designator T appears twice")
			}
			inTime = true
			order = "HMS"
			rest = rest[1:]
			if rest == "" {
				return 0, fmt.Errorf("no components after T")
			}
			continue
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.' || rest[i] == ',') {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("expected a number at %q", rest)
		}
		if i == len(rest) {
			return 0, fmt.Errorf("missing designator after %s", rest)
		}
		if fraction {
			return 0, fmt.Errorf("only the last component may have a fraction")
		}
		num := strings.ReplaceAll(rest[:i], ",", ".")
		if strings.Contains(num, ".") {
			fraction = true
		}
		designator := rest[i]
		rest = rest[i+1:]
		pos := strings.IndexByte(order, designator)
		if pos < 0 {
			if !inTime && strings.IndexByte("HS", designator) >= 0 {
				return 0, fmt.Errorf("%c needs a T before it (e.g. PT%s%c)", designator, num, designator)
			}
			return 0, fmt.Errorf("unexpected or out-of-order designator %c", designator)
		}
		order = order[pos+1:]
		var unit time.Duration
		switch {
		case inTime && designator == 'H':
			unit = time.Hour
		case inTime && designator == 'M':
			unit = time.Minute
		case inTime && designator == 'S':
			unit = time.Second
		case designator == 'Y':
			unit = Year
		case designator == 'M':
			unit = Month
		case designator == 'W':
			unit = Week
		case designator == 'D':
			unit = Day
		}
		d, err := scale(num, unit)
		if err != nil {
			return 0, err
		}
		if total, err = add(total, d); err != nil {
			return 0, err
		}
		seen++
	}
	if seen == 0 {
		return 0, fmt.Errorf("no components")
	}
	return total, nil
}

// scale multiplies a decimal number by unit exactly (no binary floating
// point: 32.16s is 32160000000ns, not 32159999999ns), rounding the last
// nanosecond half up.
func scale(num string, unit time.Duration) (time.Duration, error) {
	if strings.Count(num, ".") > 1 || num == "." {
		return 0, fmt.Errorf("bad number %q", num)
	}
	whole, frac, _ := strings.Cut(num, ".")
	r, ok := new(big.Int).SetString(whole+frac, 10)
	if whole+frac == "" || !ok {
		return 0, fmt.Errorf("bad number %q", num)
	}
	pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))), nil)
	r.Mul(r, big.NewInt(int64(unit)))
	r.Add(r, new(big.Int).Rsh(pow, 1))
	r.Quo(r, pow)
	if !r.IsInt64() {
		return 0, fmt.Errorf("%s is too large", num)
	}
	return time.Duration(r.Int64()), nil
}

func add(a, b time.Duration) (time.Duration, error) {
	if a > math.MaxInt64-b {
		return 0, fmt.Errorf("too large")
	}
	return a + b, nil
}

// Residual formats the time left as kubeadm prints it (364d, 9y, 5h, 30s);
// a time already past is printed with a minus sign (-3d).
func Residual(d time.Duration) string {
	if d < 0 {
		return "-" + duration.ShortHumanDuration(-d)
	}
	return duration.ShortHumanDuration(d)
}

// Value is a pflag.Value for a duration flag parsed by Parse.
type Value struct{ D *time.Duration }

// NewValue binds a Value to d, whose current value is the default.
func NewValue(d *time.Duration) *Value { return &Value{D: d} }

// Set parses s.
func (v *Value) Set(s string) error {
	d, err := Parse(s)
	if err != nil {
		return err
	}
	*v.D = d
	return nil
}

// String prints the value in the shortest accepted form.
func (v *Value) String() string {
	if v.D == nil {
		return ""
	}
	return Format(*v.D)
}

// Type names the flag's type in help.
func (v *Value) Type() string { return "duration" }

// Format prints d as Parse reads it back: whole years or days when d is a
// multiple of one, otherwise Go's form.
func Format(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%Year == 0:
		return fmt.Sprintf("%dy", d/Year)
	case d%Day == 0:
		return fmt.Sprintf("%dd", d/Day)
	}
	return d.String()
}
