package source

import (
	"context"
	"fmt"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	clientfeatures "k8s.io/client-go/features"
	clientfeaturestesting "k8s.io/client-go/features/testing"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
)

// TestSecretsWatchList: without --chunk-size, Secrets are read with a
// watch-list when the user may watch them, and listed in pages otherwise
// or when the watch-list fails before its first object; once objects have
// been read, a failure is an error (listing again would report them
// twice). The calls made are asserted, in order.
func TestSecretsWatchList(t *testing.T) {
	leaf := certtest.New(t, certtest.Template{CommonName: "streamed"}, nil)
	secret := func(name string) *corev1.Secret {
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name},
			Type:       corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": leaf.PEM(), "tls.key": []byte("not read")},
		}
	}
	added := func(name string) watch.Event { return watch.Event{Type: watch.Added, Object: secret(name)} }
	endOfInitial := watch.Event{Type: watch.Bookmark, Object: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
		ResourceVersion: "42", Annotations: map[string]string{metav1.InitialEventsAnnotationKey: "true"},
	}}}
	annotatedAsEnd := secret("tenant")
	annotatedAsEnd.Annotations = map[string]string{metav1.InitialEventsAnnotationKey: "true"}
	plainBookmark := watch.Event{Type: watch.Bookmark, Object: &corev1.Secret{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "41"}}}
	expired := watch.Event{Type: watch.Error, Object: &apierrors.NewResourceExpired("too old resource version").ErrStatus}

	for _, tc := range []struct {
		name      string
		chunkSize int64
		gateOff   bool
		allowed   bool
		watchErr  error         // returned by Watch
		events    []watch.Event // sent, then the watch is closed
		wantCalls []string
		wantCerts int
		wantError string // in the report's errors
	}{
		{name: "streamed", allowed: true,
			events:    []watch.Event{added("a"), plainBookmark, added("b"), endOfInitial, added("after-the-bookmark")},
			wantCalls: []string{"create selfsubjectaccessreviews", "watch secrets"}, wantCerts: 2},
		// A tenant can annotate a Secret, but it comes as ADDED: only a
		// BOOKMARK from the API server ends the initial events.
		{name: "a Secret annotated as the end", allowed: true,
			events:    []watch.Event{{Type: watch.Added, Object: annotatedAsEnd}, added("b"), endOfInitial},
			wantCalls: []string{"create selfsubjectaccessreviews", "watch secrets"}, wantCerts: 2},
		{name: "empty", allowed: true, events: []watch.Event{endOfInitial},
			wantCalls: []string{"create selfsubjectaccessreviews", "watch secrets"}},
		{name: "may not watch", allowed: false,
			wantCalls: []string{"create selfsubjectaccessreviews", "list secrets"}, wantCerts: 1},
		{name: "--chunk-size", chunkSize: 10, allowed: true,
			wantCalls: []string{"list secrets"}, wantCerts: 1},
		{name: "KUBE_FEATURE_WatchListClient=false", gateOff: true, allowed: true,
			wantCalls: []string{"list secrets"}, wantCerts: 1},
		{name: "refused (server without watch-lists)", allowed: true,
			watchErr:  apierrors.NewInvalid(schema.GroupKind{Kind: "ListOptions"}, "", nil),
			wantCalls: []string{"create selfsubjectaccessreviews", "watch secrets", "list secrets"}, wantCerts: 1},
		{name: "error event first", allowed: true, events: []watch.Event{expired},
			wantCalls: []string{"create selfsubjectaccessreviews", "watch secrets", "list secrets"}, wantCerts: 1},
		{name: "closed before any object", allowed: true,
			wantCalls: []string{"create selfsubjectaccessreviews", "watch secrets", "list secrets"}, wantCerts: 1},
		{name: "closed after an object", allowed: true, events: []watch.Event{added("a")},
			wantCalls: []string{"create selfsubjectaccessreviews", "watch secrets"}, wantCerts: 1,
			wantError: "closed the watch-list of secrets after 1 objects"},
		{name: "error event after an object", allowed: true, events: []watch.Event{added("a"), expired},
			wantCalls: []string{"create selfsubjectaccessreviews", "watch secrets"}, wantCerts: 1,
			wantError: "too old resource version"},
		{name: "a change before the bookmark", allowed: true,
			events:    []watch.Event{added("a"), {Type: watch.Modified, Object: secret("a")}},
			wantCalls: []string{"create selfsubjectaccessreviews", "watch secrets"}, wantCerts: 1,
			wantError: "sent a MODIFIED event before marking its initial events complete"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.gateOff {
				clientfeaturestesting.SetFeatureDuringTest(t, clientfeatures.WatchListClient, false)
			}
			client := fake.NewClientset()
			var calls []string
			client.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
				review := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
				if ra := review.Spec.ResourceAttributes; ra == nil || ra.Verb != "watch" || ra.Resource != "secrets" || ra.Namespace != "" || ra.Group != "" {
					t.Errorf("access review of %+v, want watch secrets in all namespaces", ra)
				}
				review.Status.Allowed = tc.allowed
				return true, review, nil
			})
			client.PrependReactor("list", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if l := a.(k8stesting.ListActionImpl).ListOptions.Limit; l <= 0 {
					t.Errorf("an unpaged LIST (limit %d)", l)
				}
				return true, &corev1.SecretList{Items: []corev1.Secret{*secret("listed")}}, nil
			})
			client.PrependWatchReactor("secrets", func(a k8stesting.Action) (bool, watch.Interface, error) {
				calls = append(calls, "watch secrets") // watch actions skip the "*" reactor chain
				o := a.(k8stesting.WatchActionImpl).ListOptions
				if o.SendInitialEvents == nil || !*o.SendInitialEvents || !o.AllowWatchBookmarks ||
					o.ResourceVersionMatch != metav1.ResourceVersionMatchNotOlderThan || o.Limit != 0 ||
					o.FieldSelector != TLSSecretFieldSelector {
					t.Errorf("watch options %+v, want a watch-list of kubernetes.io/tls Secrets", o)
				}
				if tc.watchErr != nil {
					return true, nil, tc.watchErr
				}
				w := watch.NewFakeWithChanSize(len(tc.events), false)
				for _, e := range tc.events {
					w.Action(e.Type, e.Object)
				}
				w.Stop() // closes the channel after what was sent
				return true, w, nil
			})
			// Prepended last, so first: every call, then on to the reactor above.
			client.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
				calls = append(calls, a.GetVerb()+" "+a.GetResource().Resource)
				return false, nil, nil
			})
			rec := newRecorder()
			(&Secrets{Scope: &Scope{Client: client, AllNamespaces: true, ChunkSize: tc.chunkSize}}).Collect(t.Context(), rec)
			r := rec.Report()
			if fmt.Sprint(calls) != fmt.Sprint(tc.wantCalls) {
				t.Errorf("calls %q, want %q", calls, tc.wantCalls)
			}
			if len(r.Certificates) != tc.wantCerts {
				t.Errorf("%d certificates, want %d", len(r.Certificates), tc.wantCerts)
			}
			switch {
			case tc.wantError == "" && len(r.Errors) > 0:
				t.Errorf("errors %+v, want none", r.Errors)
			case tc.wantError != "" && (len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, tc.wantError)):
				t.Errorf("errors %+v, want one saying %q", r.Errors, tc.wantError)
			}
		})
	}
}

// TestWatchListCancelled: a cancelled context ends the stream with the
// context's error, not a fallback to listing.
func TestWatchListCancelled(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		review := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		review.Status.Allowed = true
		return true, review, nil
	})
	listed := false
	client.PrependReactor("list", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		listed = true
		return true, &corev1.SecretList{}, nil
	})
	w := watch.NewFake() // never sends
	client.PrependWatchReactor("secrets", func(k8stesting.Action) (bool, watch.Interface, error) { return true, w, nil })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s := &Scope{Client: client, AllNamespaces: true}
	stream := func(ctx context.Context, ns string, o metav1.ListOptions) (watch.Interface, error) {
		return client.CoreV1().Secrets(ns).Watch(ctx, o)
	}
	list := func(ctx context.Context, ns string, o metav1.ListOptions) (runtime.Object, error) {
		return client.CoreV1().Secrets(ns).List(ctx, o)
	}
	err := s.eachStreamedIn(ctx, "secrets", "", stream, list, metav1.ListOptions{}, func(runtime.Object) {})
	if err != context.Canceled || listed {
		t.Errorf("err %v, listed %v: want context.Canceled and no LIST", err, listed)
	}
}
