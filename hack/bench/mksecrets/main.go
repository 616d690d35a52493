// Command mksecrets fills a namespace of a cluster with kubernetes.io/tls
// Secrets for the benchmarks: -n secrets, each holding a leaf certificate
// and its key, created by -workers goroutines. The secrets hold -distinct
// certificates (default 200), generated once and dealt out in turn, as a
// cluster's secrets share the certificates of its issuers' renewals and of
// copies; the API server's work and the payload are what is measured, not
// the key generation.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"os"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the cluster")
	namespace := flag.String("namespace", "bench", "namespace to fill (created when missing)")
	n := flag.Int("n", 5000, "number of secrets the namespace should hold")
	workers := flag.Int("workers", 16, "concurrent creates")
	distinct := flag.Int("distinct", 200, "number of distinct certificates among the secrets (at least 1)")
	flag.Parse()
	if *distinct < 1 || *n < 0 || *workers < 1 {
		fmt.Fprintf(os.Stderr, "error: -distinct and -workers must be at least 1 and -n not negative (got -distinct %d, -workers %d, -n %d)\n", *distinct, *workers, *n)
		os.Exit(1)
	}
	if err := run(*kubeconfig, *namespace, *n, *workers, *distinct); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(kubeconfig, ns string, n, workers, distinct int) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 2000, 2000
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx := context.Background()
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	crts, keys := make([][]byte, distinct), make([][]byte, distinct)
	for i := range crts {
		if crts[i], keys[i], err = leaf(int64(i + 1)); err != nil {
			return err
		}
	}
	start := time.Now()
	var next, created atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				_, err := client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("tls-%06d", i)},
					Type:       corev1.SecretTypeTLS,
					Data:       map[string][]byte{corev1.TLSCertKey: crts[i%int64(distinct)], corev1.TLSPrivateKeyKey: keys[i%int64(distinct)]},
				}, metav1.CreateOptions{})
				if err != nil && !apierrors.IsAlreadyExists(err) {
					errs <- err
					return
				}
				created.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%d secrets in %s in %s\n", created.Load(), ns, time.Since(start).Round(time.Millisecond))
	return nil
}

func leaf(serial int64) (crt, key []byte, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: fmt.Sprintf("bench-%d.example", serial)},
		DNSNames:  []string{fmt.Sprintf("bench-%d.example", serial)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Duration(serial) * 24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}
