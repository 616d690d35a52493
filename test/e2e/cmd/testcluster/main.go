// Command testcluster runs the e2e test cluster of package framework until it
// gets SIGINT or SIGTERM, for trying the plugins by hand. Use it through
// hack/test-cluster.sh up|env|down.
//
// In its state directory it writes, once the cluster is ready:
//
//	pid         its process ID (written at start)
//	kubeconfig  an admin kubeconfig (CN=kubecerts-admin, O=system:masters)
//	ready       the apiserver URL; present while the cluster serves
//	cluster/    the cluster's files: pki/, kubeconfigs/, logs/, etcd/
//
// and removes them all but the state directory itself when it stops.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

func main() {
	state := flag.String("state-dir", "", "directory for the cluster and its state files (default: <module root>/.cache/test-cluster)")
	lifetime := flag.Duration("serving-cert-lifetime", 365*24*time.Hour, "validity of the kube-apiserver serving certificate")
	flag.Parse()
	log.SetFlags(log.LstdFlags)
	log.SetPrefix("testcluster: ")
	if err := run(*state, *lifetime); err != nil {
		log.Fatal(err)
	}
}

func run(state string, lifetime time.Duration) error {
	if state == "" {
		root, err := framework.ModuleRoot()
		if err != nil {
			return err
		}
		state = filepath.Join(root, ".cache", "test-cluster")
	}
	if err := os.MkdirAll(state, 0o755); err != nil {
		return err
	}
	pidFile := filepath.Join(state, "pid")
	kubeconfig := filepath.Join(state, "kubeconfig")
	ready := filepath.Join(state, "ready")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	defer os.Remove(pidFile)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	began := time.Now()
	c, err := framework.Start(ctx, framework.Options{
		Dir:                 filepath.Join(state, "cluster"),
		ServingCertLifetime: lifetime,
	})
	if err != nil {
		return fmt.Errorf("starting the cluster: %w", err)
	}
	defer c.Stop()
	defer os.Remove(kubeconfig)
	defer os.Remove(ready)

	data, err := os.ReadFile(c.AdminKubeconfig)
	if err != nil {
		return err
	}
	if err := os.WriteFile(kubeconfig, data, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(ready, []byte(c.Server+"\n"), 0o644); err != nil {
		return err
	}
	log.Printf("cluster at %s ready in %s; logs in %s", c.Server, time.Since(began).Round(10*time.Millisecond), c.LogDir)

	<-ctx.Done()
	log.Print("stopping the cluster")
	return nil
}
