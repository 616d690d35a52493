package lazyregexp

import (
	"regexp"
	"slices"
	"testing"
)

func TestSameAsRegexp(t *testing.T) {
	const expr = `(\w+)=(\d+)`
	lazy, re := New(expr), regexp.MustCompile(expr)
	s := "a=1 b=22 c=x"
	if lazy.String() != re.String() ||
		lazy.MatchString(s) != re.MatchString(s) ||
		!slices.Equal(lazy.FindStringSubmatch(s), re.FindStringSubmatch(s)) ||
		!slices.Equal(lazy.FindStringSubmatchIndex(s), re.FindStringSubmatchIndex(s)) ||
		len(lazy.FindAllStringSubmatch(s, -1)) != len(re.FindAllStringSubmatch(s, -1)) ||
		string(lazy.FindSubmatch([]byte(s))[2]) != string(re.FindSubmatch([]byte(s))[2]) ||
		lazy.ReplaceAllString(s, "$2") != re.ReplaceAllString(s, "$2") {
		t.Error("lazy regexp answers differently from regexp")
	}
}

func TestCompiledOnFirstUseOnly(t *testing.T) {
	bad := New(`(`) // would panic if compiled here
	defer func() {
		if recover() == nil {
			t.Error("a bad expression did not panic on first use")
		}
	}()
	bad.MatchString("x")
}
