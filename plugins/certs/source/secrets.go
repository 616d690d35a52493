package source

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
)

// Secrets reports the certificates of Secrets: tls.crt and ca.crt of
// kubernetes.io/tls Secrets (filtered on the server), or with AllTypes every
// key of every Secret whose value holds PEM certificates. Private keys are
// never decoded, kept or printed.
type Secrets struct {
	Scope    *Scope
	AllTypes bool
}

// Name implements Source.
func (s *Secrets) Name() string { return "secrets" }

// TLSSecretFieldSelector filters kubernetes.io/tls Secrets on the server.
const TLSSecretFieldSelector = "type=" + string(corev1.SecretTypeTLS)

// Collect implements Source.
func (s *Secrets) Collect(ctx context.Context, sink Sink) {
	opts := metav1.ListOptions{LabelSelector: s.Scope.LabelSelector, FieldSelector: s.Scope.FieldSelector}
	if !s.AllTypes {
		opts.FieldSelector = joinSelectors(TLSSecretFieldSelector, s.Scope.FieldSelector)
	}
	list := func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
		return s.Scope.Client.CoreV1().Secrets(ns).List(ctx, o)
	}
	stream := func(ctx context.Context, ns string, o metav1.ListOptions) (watch.Interface, error) {
		return s.Scope.Client.CoreV1().Secrets(ns).Watch(ctx, o)
	}
	s.Scope.eachStreamed(ctx, sink, s.Name(), "secrets", list, stream, opts, func(obj runtime.Object) {
		if secret, ok := obj.(*corev1.Secret); ok {
			s.secret(secret, sink)
		}
	})
}

func (s *Secrets) secret(secret *corev1.Secret, sink Sink) {
	keys := make([]string, 0, len(secret.Data))
	for k := range secret.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		value := secret.Data[key]
		isTLSKey := secret.Type == corev1.SecretTypeTLS && (key == corev1.TLSCertKey || key == corev1.ServiceAccountRootCAKey)
		if !isTLSKey && !(s.AllTypes && holdsPEMCertificate(value)) {
			continue
		}
		loc := fmt.Sprintf("secret/%s/%s/%s", secret.Namespace, secret.Name, key)
		if isTLSKey && len(bytes.TrimSpace(value)) == 0 {
			// Not broken, just empty, and nothing there expires: listed so
			// that it is seen, without making every such cluster exit 1.
			sink.Skipped(s.Name(), loc, emptyTLSKeyReason(key))
			continue
		}
		s.Scope.reportBytes(s.Name(), loc, objectRef(secret, "v1", "Secret", dataField(key)), value, sink)
	}
}

// Why an empty key of a kubernetes.io/tls Secret is skipped. cert-manager
// writes an empty ca.crt when the issuer does not hand out its CA (ACME
// issuers such as Let's Encrypt), and a Secret created ahead of issuance
// has an empty tls.crt.
const (
	SkipEmptyCACrt  = "empty: the issuer provided no CA certificate (cert-manager leaves ca.crt empty for ACME issuers)"
	SkipEmptyTLSCrt = "empty, no certificate issued yet"
)

func emptyTLSKeyReason(key string) string {
	if key == corev1.ServiceAccountRootCAKey {
		return SkipEmptyCACrt
	}
	return SkipEmptyTLSCrt
}

// holdsPEMCertificate is a cheap test for a value worth parsing; a value
// holding only a private key is never decoded.
func holdsPEMCertificate(v []byte) bool {
	return bytes.Contains(v, []byte("-----BEGIN CERTIFICATE-----")) || bytes.Contains(v, []byte("-----BEGIN TRUSTED CERTIFICATE-----"))
}

// objectRef refers to obj, of apiVersion and kind (list items carry no
// TypeMeta), at field.
func objectRef(obj metav1.Object, apiVersion, kind, field string) *api.ObjectReference {
	return &api.ObjectReference{
		APIVersion: apiVersion, Kind: kind,
		Namespace: obj.GetNamespace(), Name: obj.GetName(), UID: obj.GetUID(),
		FieldPath: field,
	}
}

// dataField is the field path of key in a Secret's or ConfigMap's data.
func dataField(key string) string { return "data[" + key + "]" }

func joinSelectors(selectors ...string) string {
	var parts []string
	for _, s := range selectors {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ",")
}
