package source

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// ConfigMaps reports the PEM certificates held in ConfigMaps' data:
// kube-root-ca.crt in every namespace, cluster-info in kube-public,
// extension-apiserver-authentication in kube-system, and any other.
type ConfigMaps struct {
	Scope *Scope
}

// Name implements Source.
func (c *ConfigMaps) Name() string { return "configmaps" }

// Collect implements Source.
func (c *ConfigMaps) Collect(ctx context.Context, sink Sink) {
	opts := metav1.ListOptions{LabelSelector: c.Scope.LabelSelector, FieldSelector: c.Scope.FieldSelector}
	list := func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
		return c.Scope.Client.CoreV1().ConfigMaps(ns).List(ctx, o)
	}
	stream := func(ctx context.Context, ns string, o metav1.ListOptions) (watch.Interface, error) {
		return c.Scope.Client.CoreV1().ConfigMaps(ns).Watch(ctx, o)
	}
	c.Scope.eachStreamed(ctx, sink, c.Name(), "configmaps", list, stream, opts, func(obj runtime.Object) {
		cm, ok := obj.(*corev1.ConfigMap)
		if !ok {
			return
		}
		keys := make([]string, 0, len(cm.Data))
		for k, v := range cm.Data {
			if holdsPEMCertificate([]byte(v)) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			c.Scope.reportBytes(c.Name(), fmt.Sprintf("configmap/%s/%s/%s", cm.Namespace, cm.Name, k), objectRef(cm, "v1", "ConfigMap", dataField(k)), []byte(cm.Data[k]), sink)
		}
	})
}
