package duration

import "testing"

// FuzzParse: any input parses to a non-negative duration that Format prints
// back into the same value, or is refused with an error naming it.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"720h", "30d", "2w", "1y", "P30D", "P5DT5H", "P1Y2M3W4DT5H6M7S", "PT1.5H", "1d12h", "-5d", "P", "PT", "99999999999y", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("Parse(%q) = %v, negative", s, d)
		}
		back, err := Parse(Format(d))
		if err != nil || back != d {
			t.Fatalf("Parse(Format(%v)=%q) = %v, %v", d, Format(d), back, err)
		}
	})
}
