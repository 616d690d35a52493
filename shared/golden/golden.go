// Package golden compares what a test printed with a file under testdata/,
// and rewrites the file instead when the test runs with -update. Output is a
// contract: golden files pin it, and a change to them shows in review.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// dir is the testing package's testdata/, taken when the test binary
// starts (go test runs it in the package's directory), so that tests that
// change the working directory still find it.
var dir, _ = filepath.Abs("testdata")

// Assert fails t when got differs from the file testdata/<name>; with
// -update it writes got there first.
func Assert(t testing.TB, name, got string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
