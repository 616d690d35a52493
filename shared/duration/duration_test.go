package duration

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"720h", 720 * time.Hour},
		{"1h30m", 90 * time.Minute},
		{"10s", 10 * time.Second},
		{"1.5h", 90 * time.Minute},
		{"0", 0},
		{"30d", 30 * Day},
		{"2w", 14 * Day},
		{"1y", 365 * Day},
		{"1d12h", 36 * time.Hour},
		{"1y2w3d", (365 + 14 + 3) * Day},
		{" 7d ", 7 * Day},
		{"P30D", 30 * Day},
		{"P5D", 5 * Day},
		{"P5DT5H", 5*Day + 5*time.Hour},
		{"P5DT5H5M", 5*Day + 5*time.Hour + 5*time.Minute},
		{"P1Y2M", 365*Day + 60*Day},
		{"PT36H", 36 * time.Hour},
		{"PT1.5H", 90 * time.Minute},
		{"PT0,5S", 500 * time.Millisecond},
		{"P2W", 14 * Day},
		{"P1Y2M3W4DT5H6M7S", 365*Day + 60*Day + 21*Day + 4*Day + 5*time.Hour + 6*time.Minute + 7*time.Second},
		{"p5dt5h", 5*Day + 5*time.Hour},
		{"P0D", 0},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty"},
		{"-5d", "negative"},
		{"5", "missing unit"},
		{"5x", `unknown unit "x"`},
		{"d", "expected a number"},
		{"1..5d", "bad number"},
		{"99999999999y", "too large"},
		{"300y", "too large"},
		{"P", "no components after P"},
		{"PT", "no components after T"},
		{"P5", "missing designator"},
		{"P5H", "needs a T before it"},
		{"P1D2Y", "out-of-order"},
		{"PT1H2H", "out-of-order"},
		{"P1.5DT2H", "only the last component may have a fraction"},
		{"P5DTT5H", "T appears twice"},
		{"P5X", "unexpected"},
		{"P99999999999Y", "too large"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %v, want containing %q", tt.in, err, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), `"`+tt.in+`"`) {
			t.Errorf("Parse(%q) error %q does not name the input", tt.in, err)
		}
	}
}

func TestResidual(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{364 * Day, "364d"},
		{9*Year + 100*Day, "9y"},
		{5 * time.Hour, "5h"},
		{30 * time.Second, "30s"},
		{-3 * Day, "-3d"},
		{0, "0s"},
	}
	for _, tt := range tests {
		if got := Residual(tt.in); got != tt.want {
			t.Errorf("Residual(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{0, 7 * Day, 30 * Day, 2 * Week, Year, 36 * time.Hour, 90 * time.Second} {
		s := Format(d)
		back, err := Parse(s)
		if err != nil || back != d {
			t.Errorf("Parse(Format(%v) = %q) = %v, %v", d, s, back, err)
		}
	}
}

func TestValue(t *testing.T) {
	d := 30 * Day
	v := NewValue(&d)
	if v.String() != "30d" || v.Type() != "duration" {
		t.Errorf("default = %q type %q", v.String(), v.Type())
	}
	if err := v.Set("P7D"); err != nil || d != 7*Day {
		t.Errorf("Set(P7D) = %v, d = %v", err, d)
	}
	if err := v.Set("soon"); err == nil || d != 7*Day {
		t.Errorf("Set(soon) = %v, d = %v; want error and no change", err, d)
	}
}
