// Package e2e_test runs kubecerts end to end against a real control plane
// (etcd, kube-apiserver, kube-controller-manager) started once for the suite
// by the framework package; tests isolate themselves by object names.
//
// Run with: go test ./test/e2e/... -count=1 -v
// Skip with KUBECERTS_E2E=0.
package e2e_test

import (
	"os"
	"testing"

	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

func TestMain(m *testing.M) {
	os.Exit(framework.Main(m, framework.Options{}))
}
