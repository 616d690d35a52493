//go:build linux || darwin || freebsd || netbsd || openbsd

package rotate

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kubecerts/kubecerts/shared/exitcode"
)

// TestRenewLocksThePKIDirectory: while another process (here: another open
// file description) holds the PKI directory's lock, renew refuses at once
// and writes nothing; a dry run does not need the lock; once the lock is
// released renew goes ahead.
func TestRenewLocksThePKIDirectory(t *testing.T) {
	fx := newRenewFixture(t, 0)
	unlock, err := lockDir(fx.pki)
	if err != nil {
		t.Fatal(err)
	}
	before := fx.snapshot(t)
	code, stdout, stderr := runRenewRaw(t, fx, nil, "all")
	want := "error: --pki-dir " + fx.pki + " is being renewed by another process"
	if code != exitcode.Error || stdout != "" || !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1 and one line %q…", code, stdout, stderr, want)
	}
	if !reflect.DeepEqual(before, fx.snapshot(t)) {
		t.Error("files changed while another renewal held the lock")
	}
	if code, _, stderr := runRenewRaw(t, fx, nil, "all", "--dry-run"); code != 0 {
		t.Errorf("--dry-run under the lock: exit %d, %s", code, stderr)
	}
	unlock()
	if code, _, stderr := runRenewRaw(t, fx, nil, "apiserver"); code != 0 {
		t.Errorf("after the lock was released: exit %d, %s", code, stderr)
	}
	if unlock, err := lockDir(fx.pki); err != nil {
		t.Errorf("renew left the directory locked: %v", err)
	} else {
		unlock()
	}
}
