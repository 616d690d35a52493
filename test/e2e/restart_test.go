package e2e_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// TestAPIServerRestart checks what tests of watch resilience rely on:
// RestartAPIServer ends open watches, and the apiserver comes back on the same
// address with the same certificate and data.
func TestAPIServerRestart(t *testing.T) {
	c := framework.Shared(t)
	ctx := t.Context()
	admin := c.Clientset()
	ns := createNamespace(t, admin, admin, "e2e-restart-")
	cm, err := admin.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "before-restart"},
		Data:       map[string]string{"key": "value"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := admin.CoreV1().ConfigMaps(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: cm.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	if err := c.RestartAPIServer(ctx); err != nil {
		t.Fatalf("restarting the apiserver: %v", err)
	}

	timeout := time.After(30 * time.Second)
	for closed := false; !closed; {
		select {
		case _, ok := <-w.ResultChan():
			closed = !ok
		case <-timeout:
			t.Fatal("the watch opened before the restart is still open 30s after it")
		}
	}
	if served := servedCertificate(t, c.Server); !served.Equal(c.ServingCert) {
		t.Errorf("after the restart %s serves a different certificate (serial %x)", c.Server, served.SerialNumber)
	}
	got, err := admin.CoreV1().ConfigMaps(ns).Get(ctx, cm.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading %s/%s after the restart: %v", ns, cm.Name, err)
	}
	if got.Data["key"] != "value" {
		t.Errorf("configmap data after the restart = %v", got.Data)
	}
}
