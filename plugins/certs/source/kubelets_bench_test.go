package source

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
	"github.com/kubecerts/kubecerts/shared/expiry"
)

// BenchmarkKubelets measures the kubelets source's own cost per kubelet:
// 200 Nodes whose kubelets are one loopback TLS listener (no latency), an
// ECDSA P-256 chain verified against its CA, --parallel 50. The server's
// side of each handshake runs in the same process and is counted too.
//
//	go test -run '^$' -bench Kubelets -benchmem -cpuprofile /tmp/kubelets.prof ./plugins/certs/source/
func BenchmarkKubelets(b *testing.B) {
	const nodes = 200
	ca := certtest.CA(b, "kubernetes")
	leaf := certtest.New(b, certtest.Template{CommonName: "system:node:bench", IPs: []net.IP{net.ParseIP("127.0.0.1")}}, ca)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leaf.Cert.Raw, ca.Cert.Raw}, PrivateKey: leaf.Key}}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tc := tls.Server(c, cfg)
				if tc.Handshake() == nil {
					_, _ = io.Copy(io.Discard, tc)
				}
			}()
		}
	}()
	port := int32(ln.Addr().(*net.TCPAddr).Port)
	objs := make([]runtime.Object, 0, nodes)
	for i := range nodes {
		objs = append(objs, kubeletNode(fmt.Sprintf("node-%03d", i), port, addr(corev1.NodeInternalIP, "127.0.0.1")))
	}
	client := fake.NewClientset(objs...)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		k := &Kubelets{Scope: &Scope{Client: client}, Roots: certtest.Pool(ca), Parallel: 50, Timeout: 10 * time.Second, Now: time.Now(), WarnWithin: expiry.DefaultWarnWithin}
		c := NewCollector(time.Now(), expiry.DefaultThresholds(), false)
		k.Collect(b.Context(), c)
		if r := c.Report(); len(r.Certificates) != 2*nodes || len(r.Errors) != 0 {
			b.Fatalf("%d certificates, errors %v", len(r.Certificates), r.Errors)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*nodes), "µs/kubelet")
}
