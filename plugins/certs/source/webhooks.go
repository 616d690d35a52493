package source

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
)

// Webhooks reports the CA bundles the API server trusts to call out:
// validating and mutating admission webhooks, aggregated APIServices, and
// CustomResourceDefinition conversion webhooks.
type Webhooks struct {
	Scope *Scope
}

// Name implements Source.
func (w *Webhooks) Name() string { return "webhooks" }

var (
	apiServicesGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
	crdsGVR        = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// Collect implements Source.
func (w *Webhooks) Collect(ctx context.Context, sink Sink) {
	opts := metav1.ListOptions{LabelSelector: w.Scope.LabelSelector}
	adm := w.Scope.Client.AdmissionregistrationV1()
	w.Scope.each(ctx, sink, w.Name(), "validatingwebhookconfigurations", false,
		func(ctx context.Context, _ string, o metav1.ListOptions) (runtime.Object, error) {
			return adm.ValidatingWebhookConfigurations().List(ctx, o)
		}, opts, func(obj runtime.Object) {
			if c, ok := obj.(*admissionv1.ValidatingWebhookConfiguration); ok {
				for _, h := range c.Webhooks {
					w.bundle(fmt.Sprintf("validatingwebhookconfiguration/%s/%s", c.Name, h.Name),
						objectRef(c, admissionv1.SchemeGroupVersion.String(), "ValidatingWebhookConfiguration", webhookField(h.Name)), h.ClientConfig.CABundle, sink)
				}
			}
		})
	w.Scope.each(ctx, sink, w.Name(), "mutatingwebhookconfigurations", false,
		func(ctx context.Context, _ string, o metav1.ListOptions) (runtime.Object, error) {
			return adm.MutatingWebhookConfigurations().List(ctx, o)
		}, opts, func(obj runtime.Object) {
			if c, ok := obj.(*admissionv1.MutatingWebhookConfiguration); ok {
				for _, h := range c.Webhooks {
					w.bundle(fmt.Sprintf("mutatingwebhookconfiguration/%s/%s", c.Name, h.Name),
						objectRef(c, admissionv1.SchemeGroupVersion.String(), "MutatingWebhookConfiguration", webhookField(h.Name)), h.ClientConfig.CABundle, sink)
				}
			}
		})
	if w.Scope.Dynamic == nil {
		return
	}
	w.Scope.each(ctx, sink, w.Name(), "apiservices", false, w.dynamicList(apiServicesGVR), opts, func(obj runtime.Object) {
		w.unstructuredBundle(obj, "apiservice", "APIService", sink, "spec", "caBundle")
	})
	w.Scope.each(ctx, sink, w.Name(), "customresourcedefinitions", false, w.dynamicList(crdsGVR), opts, func(obj runtime.Object) {
		w.unstructuredBundle(obj, "customresourcedefinition", "CustomResourceDefinition", sink, "spec", "conversion", "webhook", "clientConfig", "caBundle")
	})
}

func (w *Webhooks) dynamicList(gvr schema.GroupVersionResource) listFunc {
	return func(ctx context.Context, _ string, o metav1.ListOptions) (runtime.Object, error) {
		return w.Scope.Dynamic.Resource(gvr).List(ctx, o)
	}
}

func (w *Webhooks) unstructuredBundle(obj runtime.Object, kind, kindName string, sink Sink, path ...string) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	encoded, found, err := unstructured.NestedString(u.Object, path...)
	if err != nil || !found || encoded == "" {
		return
	}
	loc := kind + "/" + u.GetName()
	data, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		sink.Error(w.Name(), loc, fmt.Errorf("caBundle is not base64: %v", err))
		return
	}
	ref := objectRef(u, u.GetAPIVersion(), kindName, strings.Join(path, "."))
	if ref.APIVersion == "" {
		ref.APIVersion = map[string]string{"APIService": apiServicesGVR.GroupVersion().String(), "CustomResourceDefinition": crdsGVR.GroupVersion().String()}[kindName]
	}
	w.bundle(loc, ref, data, sink)
}

// webhookField is the field path of a webhook's CA bundle in its
// configuration.
func webhookField(name string) string { return "webhooks[" + name + "].clientConfig.caBundle" }

func (w *Webhooks) bundle(loc string, obj *api.ObjectReference, caBundle []byte, sink Sink) {
	if len(caBundle) == 0 {
		return
	}
	w.Scope.reportBytes(w.Name(), loc, obj, caBundle, sink)
}
