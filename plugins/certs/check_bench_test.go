package certs

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/exitcode"
)

// BenchmarkCheckSecretsCluster runs the whole command, as
// `kubectl certs check --source secrets -A -o json` does (the paged LIST,
// parsing, the report and printing it), against a real API server:
// KUBECERTS_BENCH_KUBECONFIG names its kubeconfig (hack/bench-secrets.sh's
// cluster, filled by hack/bench/mksecrets); without it the benchmark is
// skipped. KUBECERTS_BENCH_ARGS replaces the arguments after `check`.
//
//	KUBECERTS_BENCH_KUBECONFIG=… go test -run '^$' -bench CheckSecretsCluster -benchmem \
//	  -cpuprofile /tmp/check.cpu -memprofile /tmp/check.mem ./plugins/certs/
func BenchmarkCheckSecretsCluster(b *testing.B) {
	path := os.Getenv("KUBECERTS_BENCH_KUBECONFIG")
	if path == "" {
		b.Skip("KUBECERTS_BENCH_KUBECONFIG is not set: no cluster to list")
	}
	args := []string{"--source", "secrets", "-A", "-o", "json"}
	if a := os.Getenv("KUBECERTS_BENCH_ARGS"); a != "" {
		args = strings.Fields(a)
	}
	args = append([]string{"check", "--kubeconfig", path}, args...)
	b.ReportAllocs()
	for b.Loop() {
		streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}
		var stderr strings.Builder
		if code := cli.Run(context.Background(), cli.NewRootCommand(Plugin, streams), args, &stderr); code == exitcode.Error {
			b.Fatalf("exit status %d: %s", code, stderr.String())
		}
	}
}
