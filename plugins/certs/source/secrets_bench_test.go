package source

import (
	"context"
	"os"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubecerts/kubecerts/shared/expiry"
)

// BenchmarkSecretsCluster measures the secrets source against a real API
// server: the paged protobuf LIST, the decoding and the parsing, into a
// Collector, as kubectl certs check --source secrets -A does (printing
// aside). It needs a cluster: KUBECERTS_BENCH_KUBECONFIG names its
// kubeconfig (hack/bench-secrets.sh's cluster, filled by
// hack/bench/mksecrets); without it the benchmark is skipped.
//
//	KUBECERTS_BENCH_KUBECONFIG=… go test -run '^$' -bench SecretsCluster -benchmem \
//	  -cpuprofile /tmp/secrets.cpu -memprofile /tmp/secrets.mem ./plugins/certs/source/
func BenchmarkSecretsCluster(b *testing.B) {
	path := os.Getenv("KUBECERTS_BENCH_KUBECONFIG")
	if path == "" {
		b.Skip("KUBECERTS_BENCH_KUBECONFIG is not set: no cluster to list")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		b.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		c := NewCollector(time.Now(), expiry.DefaultThresholds(), false)
		(&Secrets{Scope: &Scope{Client: client, AllNamespaces: true, ChunkSize: DefaultChunkSize}}).Collect(context.Background(), c)
		r := c.Report()
		if len(r.Errors) > 0 {
			b.Fatalf("errors: %+v", r.Errors)
		}
		n = len(r.Certificates)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(max(n, 1))/1e3, "µs/secret")
	b.ReportMetric(float64(n), "certificates")
}
