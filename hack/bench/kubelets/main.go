// Command kubelets stands in for the kubelets of many nodes, for
// hack/bench-kubelets.sh: it serves a kubelet-style certificate (issued by
// a CA it makes, written to -ca) on -n loopback ports, each handshake
// delayed by -latency, creates one Node per port in the cluster of
// -kubeconfig (label -label, InternalIP 127.0.0.1, the port as its
// kubelet port, set through the status subresource), writes the ports to
// -ports, prints "ready" and serves until killed.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	n := flag.Int("n", 2000, "nodes (ports)")
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "the cluster's kubeconfig")
	label := flag.String("label", "kubecerts.io/bench=kubelets", "label KEY=VALUE of the Nodes")
	latency := flag.Duration("latency", 0, "delay before each handshake")
	caOut := flag.String("ca", "", "write the CA certificate here")
	portsOut := flag.String("ports", "", "write the ports here, one a line")
	flag.Parse()

	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench-kubelet-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	check(err)
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "system:node:bench", Organization: []string{"system:nodes"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(300 * 24 * time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, key.Public(), caKey)
	check(err)
	if *caOut != "" {
		check(os.WriteFile(*caOut, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644))
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: key}}}

	ports := make([]int, *n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		check(err)
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		go serve(ln, cfg, *latency)
	}
	if *portsOut != "" {
		var b strings.Builder
		for _, p := range ports {
			fmt.Fprintln(&b, p)
		}
		check(os.WriteFile(*portsOut, []byte(b.String()), 0o644))
	}

	rc, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	check(err)
	rc.QPS, rc.Burst = 500, 1000
	client, err := kubernetes.NewForConfig(rc)
	check(err)
	k, v, _ := strings.Cut(*label, "=")
	ctx := context.Background()
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				node, err := client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{
					Name: fmt.Sprintf("bench-kubelet-%05d", i), Labels: map[string]string{k: v}}}, metav1.CreateOptions{})
				check(err)
				node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
				node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(ports[i])
				_, err = client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
				check(err)
			}
		}()
	}
	for i := range ports {
		work <- i
	}
	close(work)
	wg.Wait()
	fmt.Println("ready " + strconv.Itoa(len(ports)))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}

func serve(ln net.Listener, cfg *tls.Config, latency time.Duration) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			if latency > 0 {
				time.Sleep(latency)
			}
			tc := tls.Server(c, cfg)
			if tc.Handshake() == nil {
				_, _ = io.Copy(io.Discard, tc)
			}
		}()
	}
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
