package source

import (
	"fmt"
	"testing"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
)

func TestEntryList(t *testing.T) {
	var e entryList
	add := func(from, to int) {
		for i := from; i < to; i++ {
			e.add(api.Certificate{Location: fmt.Sprint(i)})
		}
	}
	check := func(when string, n int) {
		t.Helper()
		if e.len() != n {
			t.Fatalf("%s: len %d, want %d", when, e.len(), n)
		}
		for i := 0; i < n; i++ {
			if got := e.at(i).Location; got != fmt.Sprint(i) {
				t.Fatalf("%s: at(%d) = %s", when, i, got)
			}
		}
	}
	if got := e.flatten(); len(got) != 0 {
		t.Fatalf("empty list flattens to %d entries", len(got))
	}
	add(0, 2*entryBlock+3)
	check("blocks", 2*entryBlock+3)
	flat := e.flatten()
	if len(flat) != 2*entryBlock+3 || flat[entryBlock+1].Location != fmt.Sprint(entryBlock+1) {
		t.Fatalf("flatten: %d entries", len(flat))
	}
	check("flattened", 2*entryBlock+3)
	e.at(5).AlsoAt = []string{"x"}
	if flat[5].AlsoAt == nil {
		t.Error("at() after flatten does not reach the flattened entries")
	}
	add(2*entryBlock+3, 3*entryBlock+10)
	check("added after flatten", 3*entryBlock+10)
	if got := e.flatten(); len(got) != 3*entryBlock+10 || got[3*entryBlock+9].Location != fmt.Sprint(3*entryBlock+9) {
		t.Fatalf("second flatten: %d entries", len(got))
	}
	check("flattened twice", 3*entryBlock+10)
}
