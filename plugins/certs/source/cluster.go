package source

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/pager"
)

// DefaultChunkSize is how many objects one LIST page holds, as in kubectl,
// for resources whose pages are not sized by what they hold.
const DefaultChunkSize = 500

// Secrets and ConfigMaps are listed in pages sized by their bytes: a
// first page of FirstChunkSize, then as many objects as come to about
// PageBytes by the previous page's average, from MinChunkSize to
// MaxChunkSize. kubernetes.io/tls Secrets (a few KB: a chain and a key)
// then come 5,000 to a page, where kubectl's 500 made 20,000 of them take
// 40 round trips, during each of which the API server and this client wait
// on each other (hack/bench-secrets.sh, docs/benchmarks.md). A Secret or
// ConfigMap can be a megabyte (Helm keeps releases in them), and anyone who
// may create one in their namespace decides how large: a fixed page of
// 5,000 such, or even kubectl's 500, would be gigabytes for the API server
// and for this process.
const (
	FirstChunkSize = 100
	MinChunkSize   = 10
	MaxChunkSize   = 5000
	PageBytes      = 16 << 20
)

// pageSizer sizes the next page from the one listed, for the resources
// whose bytes are known (Secrets, ConfigMaps). The zero value starts at
// FirstChunkSize.
type pageSizer struct{ next int64 }

func (p *pageSizer) limit() int64 {
	if p.next == 0 {
		return FirstChunkSize
	}
	return p.next
}

// saw takes in a page; it reports false for a list whose bytes it does not
// know.
func (p *pageSizer) saw(list runtime.Object) bool {
	var n, bytes int
	switch l := list.(type) {
	case *corev1.SecretList:
		n = len(l.Items)
		for i := range l.Items {
			for _, v := range l.Items[i].Data {
				bytes += len(v)
			}
		}
	case *corev1.ConfigMapList:
		n = len(l.Items)
		for i := range l.Items {
			for _, v := range l.Items[i].Data {
				bytes += len(v)
			}
			for _, v := range l.Items[i].BinaryData {
				bytes += len(v)
			}
		}
	default:
		return false
	}
	if n == 0 {
		return true
	}
	// Metadata and field names: ~1 KB an object.
	per := int64(bytes/n) + 1024
	p.next = min(max(PageBytes/per, MinChunkSize), MaxChunkSize)
	return true
}

// Scope is what the in-cluster sources share: the clients, the namespaces
// and selectors to list, the page size, and a counter for progress.
type Scope struct {
	Client  kubernetes.Interface
	Dynamic dynamic.Interface
	// Namespace to list; ignored with AllNamespaces.
	Namespace     string
	AllNamespaces bool
	LabelSelector string
	FieldSelector string
	ChunkSize     int64
	// Scanned counts objects listed, for a progress indicator; may be nil.
	Scanned *atomic.Int64
	// Host is the API server's host as the kubeconfig names it (the nodes
	// source finds the AKS cluster by it).
	Host string

	// parsed is shared by the sources of the scope, so that a certificate
	// found in a Secret and a ConfigMap is parsed once.
	parsed parseCache
}

// namespaceScope is what to list in: "" for all namespaces.
func (s *Scope) namespaceScope() string {
	if s.AllNamespaces {
		return metav1.NamespaceAll
	}
	return s.Namespace
}

func (s *Scope) count(n int) {
	if s.Scanned != nil {
		s.Scanned.Add(int64(n))
	}
}

// listFunc lists one page of a resource in a namespace ("" = all).
type listFunc func(ctx context.Context, namespace string, opts metav1.ListOptions) (runtime.Object, error)

// each lists resource page by page in the scope's namespace (or all) and
// calls fn for every item, so that no more than a few pages are in memory
// at once. When listing across all namespaces is forbidden, it lists the
// namespaces the user may list and each of them, so that one forbidden
// namespace is one error and the rest is still read. Errors go to sink.
func (s *Scope) each(ctx context.Context, sink Sink, source, resource string, namespaced bool, list listFunc, opts metav1.ListOptions, fn func(runtime.Object)) {
	s.eachServed(ctx, sink, source, servedResource{resource: resource}, namespaced, list, opts, fn)
}

// eachStreamed is each for a namespaced core resource that can be read
// with a watch-list (Secrets, ConfigMaps): see watchlist.go.
func (s *Scope) eachStreamed(ctx context.Context, sink Sink, source, resource string, list listFunc, w watchFunc, opts metav1.ListOptions, fn func(runtime.Object)) {
	s.eachServed(ctx, sink, source, servedResource{resource: resource, watch: w}, true, list, opts, fn)
}

// servedResource is a resource to list and, when groupVersion is set, the
// group version it is served in where some API servers do not serve it;
// watch, when set, opens a watch-list of it.
type servedResource struct {
	groupVersion, resource string
	watch                  watchFunc
}

// eachServed is each for a resource that older API servers do not serve:
// when listing fails with NotFound or Forbidden and discovery says the
// resource is not served, the source is skipped with a note instead of an
// error (RBAC is checked before the resource is looked up, so a user without
// permission gets Forbidden for a resource that does not exist).
func (s *Scope) eachServed(ctx context.Context, sink Sink, source string, r servedResource, namespaced bool, list listFunc, opts metav1.ListOptions, fn func(runtime.Object)) {
	resource := r.resource
	ns := ""
	if namespaced {
		ns = s.namespaceScope()
	}
	err := s.eachStreamedIn(ctx, resource, ns, r.watch, list, opts, fn)
	if err == nil {
		return
	}
	if r.groupVersion != "" && (apierrors.IsNotFound(err) || apierrors.IsForbidden(err)) && !s.serves(ctx, r) {
		sink.Note(NotServedNote(source, r.resource, r.groupVersion))
		return
	}
	if namespaced && ns == metav1.NamespaceAll && apierrors.IsForbidden(err) {
		s.eachNamespace(ctx, sink, source, resource, list, opts, fn)
		return
	}
	sink.Error(source, where(resource, ns, namespaced), describeAPIError(err, "list", resource, ns, namespaced))
}

func (s *Scope) eachIn(ctx context.Context, ns string, list listFunc, opts metav1.ListOptions, fn func(runtime.Object)) error {
	// With --chunk-size, every page holds that many; else Secrets and
	// ConfigMaps are sized by their bytes, the rest DefaultChunkSize.
	size, sizer := s.ChunkSize, (*pageSizer)(nil)
	if size <= 0 {
		sizer = &pageSizer{}
		size = sizer.limit()
	}
	p := pager.New(func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		if sizer != nil {
			o.Limit = sizer.limit()
		}
		obj, err := list(ctx, ns, o)
		if err == nil {
			s.count(meta.LenList(obj))
			if sizer != nil && !sizer.saw(obj) {
				sizer.next = DefaultChunkSize
			}
		}
		return obj, err
	})
	p.PageSize = size
	p.PageBufferSize = 2
	// Never one unpaged LIST of everything: EachListItem does not fall
	// back to one when a continue token expires, and this says so.
	p.FullListIfExpired = false
	opts.Limit = size
	return p.EachListItem(ctx, opts, func(obj runtime.Object) error {
		fn(obj)
		return nil
	})
}

// eachNamespace is the fallback when a cluster-wide list is forbidden.
func (s *Scope) eachNamespace(ctx context.Context, sink Sink, source, resource string, list listFunc, opts metav1.ListOptions, fn func(runtime.Object)) {
	var names []string
	err := s.eachIn(ctx, "", func(ctx context.Context, _ string, o metav1.ListOptions) (runtime.Object, error) {
		return s.Client.CoreV1().Namespaces().List(ctx, o)
	}, metav1.ListOptions{}, func(obj runtime.Object) {
		if m, err := meta.Accessor(obj); err == nil {
			names = append(names, m.GetName())
		}
	})
	if err != nil {
		sink.Error(source, "all namespaces", fmt.Errorf("listing %s across all namespaces is forbidden, and so is listing the namespaces to go one by one: %v", resource, describeAPIError(err, "list", "namespaces", "", false)))
		return
	}
	var mu sync.Mutex // fn is not assumed to be safe for concurrent use
	work := make(chan string)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ns := range work {
				err := s.eachIn(ctx, ns, list, opts, func(obj runtime.Object) {
					mu.Lock()
					defer mu.Unlock()
					fn(obj)
				})
				if err != nil {
					sink.Error(source, where(resource, ns, true), describeAPIError(err, "list", resource, ns, true))
				}
			}
		}()
	}
	for _, ns := range names {
		work <- ns
	}
	close(work)
	wg.Wait()
}

func where(resource, ns string, namespaced bool) string {
	switch {
	case !namespaced:
		return resource
	case ns == "":
		return resource + " in all namespaces"
	}
	return resource + " in namespace " + ns
}

// describeAPIError spells out a missing permission: the verb, resource and
// namespace to grant.
func describeAPIError(err error, verb, resource, ns string, namespaced bool) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		// "Get https://…?continue=…&limit=…: dial tcp …: connection refused"
		// says less than the server and the cause.
		if u, perr := url.Parse(urlErr.URL); perr == nil {
			return fmt.Errorf("%s %s: %v", verb, u.Scheme+"://"+u.Host, urlErr.Err)
		}
	}
	if !apierrors.IsForbidden(err) {
		return err
	}
	scope := "cluster-wide"
	if namespaced && ns != "" {
		scope = "in namespace " + ns
	} else if namespaced {
		scope = "in all namespaces"
	}
	return fmt.Errorf("forbidden: missing permission to %s %s %s (RBAC: verb %q, resource %q): %v", verb, resource, scope, verb, resource, err)
}

// serves asks discovery whether the API server serves r; when discovery
// cannot tell (an error other than NotFound), the resource is taken to be
// served, so that the listing's own error is reported.
func (s *Scope) serves(ctx context.Context, r servedResource) bool {
	var list *metav1.APIResourceList
	var err error
	if d, ok := s.Client.Discovery().(discovery.ServerResourcesInterfaceWithContext); ok {
		list, err = d.ServerResourcesForGroupVersionWithContext(ctx, r.groupVersion)
	} else {
		list, err = s.Client.Discovery().ServerResourcesForGroupVersion(r.groupVersion)
	}
	if err != nil {
		return !apierrors.IsNotFound(err)
	}
	for _, res := range list.APIResources {
		if res.Name == r.resource {
			return true
		}
	}
	return false
}

// NotServedNote says that a source was skipped because the API server does
// not serve its resource.
func NotServedNote(source, resource, groupVersion string) string {
	return fmt.Sprintf("source %s skipped: the API server does not serve %s (%s; served from Kubernetes 1.37, or the API is disabled)", source, resource, groupVersion)
}
