package e2e_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// TestFaultAPIServerStopsMidCommand: the API server a check talks to goes
// away while the check is paging through secrets. The check must end with
// exit status 1 and a one-line error naming what it was listing, within
// --request-timeout of the outage, not hang or panic.
func TestFaultAPIServerStopsMidCommand(t *testing.T) {
	c := framework.Shared(t)
	admin := c.Clientset()
	ns := createNamespace(t, admin, admin, "fault-stop-")
	crt, key := chkChain(t, 1, "fault")
	chkTLSSecrets(t, admin, ns, 200, crt, key)
	srv, err := c.StartAPIServer(t.Context(), 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	kubeconfig, err := c.UserKubeconfigFor(srv.URL, "kubecerts-admin", "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	dir := framework.BuildPlugins(t)

	// One secret per page at 10 requests a second: 20 s of paging, cut
	// after 2 s.
	const requestTimeout = 5 * time.Second
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	type result struct {
		stdout, stderr string
		err            error
		ended          time.Time
	}
	done := make(chan result, 1)
	go func() {
		stdout, stderr, err := framework.Kubectl(ctx, dir, kubeconfig, "certs", "check", "--source", "secrets", "-n", ns,
			"--chunk-size", "1", "--qps", "10", "--burst", "1", "--request-timeout", requestTimeout.String(), "-o", "json")
		done <- result{stdout, stderr, err, time.Now()}
	}()
	time.Sleep(2 * time.Second)
	stopped := time.Now()
	srv.Stop()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		t.Fatal("the check did not end after the API server stopped")
	}
	var ee *exec.ExitError
	if !errors.As(r.err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit = %v, want status 1; stderr:\n%s", r.err, r.stderr)
	}
	took := r.ended.Sub(stopped)
	if took > requestTimeout+10*time.Second {
		t.Errorf("the check ended %v after the outage; --request-timeout is %v", took, requestTimeout)
	}
	var errLines []string
	for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if strings.HasPrefix(l, "error: ") {
			errLines = append(errLines, l)
		}
	}
	if len(errLines) != 1 || !strings.Contains(errLines[0], "secrets in namespace "+ns) {
		t.Errorf("stderr error lines = %q, want one naming the secrets being listed", errLines)
	}
	t.Logf("ended %v after the outage: %q", took.Round(time.Millisecond), errLines)
	if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
		t.Errorf("stderr shows a crash:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, `"kind": "CertificateReport"`) {
		t.Errorf("no report printed for what was read before the outage:\n%s", r.stdout)
	}
}
