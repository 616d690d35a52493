package certs

import (
	"strings"
	"testing"

	"github.com/kubecerts/kubecerts/shared/exitcode"
)

// TestCheckRecordEventsFilesOnly: --record-events with sources that hold no
// Kubernetes objects is a note, not an error: the exit status is the
// check's, and the summary counts no Events.
func TestCheckRecordEventsFilesOnly(t *testing.T) {
	code, out, errOut := runCheck(t, "--file", "testdata/soon.pem", "--pki-dir", "testdata", "--record-events")
	if code != exitcode.Critical {
		t.Errorf("exit status %d, want 3 (soon.pem is CRITICAL)", code)
	}
	if want := "note: --record-events: the sources checked (file, pki-dir) hold no Kubernetes objects: no Events can be recorded for their certificates\n"; !strings.Contains(errOut, want) {
		t.Errorf("stderr lacks %q:\n%s", want, errOut)
	}
	if strings.Contains(errOut, "error:") || strings.Contains(errOut, "warning:") {
		t.Errorf("stderr:\n%s", errOut)
	}
	if !strings.Contains(out, "testdata/soon.pem") {
		t.Errorf("stdout:\n%s", out)
	}

	_, out, _ = runCheck(t, "--file", "testdata/soon.pem", "--record-events", "-o", "jsonpath={.summary.events}")
	if out != `{"created":0,"failed":0,"recorded":0,"updated":0}` {
		t.Errorf("summary.events = %s, want zeros", out)
	}
	_, out, _ = runCheck(t, "--file", "testdata/soon.pem", "-o", "json")
	if strings.Contains(out, `"events"`) {
		t.Errorf("summary.events without --record-events:\n%s", out)
	}
}
