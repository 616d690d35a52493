package rotate

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/kubecerts/kubecerts/plugins/rotate/csrcheck"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
)

// The objects the checks read besides CSRs and Nodes: the Service ranges
// (networking.k8s.io ServiceCIDRs, and the kubernetes Service's ClusterIPs)
// and the API server's own addresses: the kubernetes EndpointSlice, which
// the API server writes, and the endpoint clients reach it by — the server
// of kubeadm's cluster-info kubeconfig, kubeadm's controlPlaneEndpoint, and
// the server of the command's own kubeconfig — which in an HA cluster is a
// load balancer's or a VIP's, inside the node network, listed by no Node.
// No node can write any of them.
const (
	apiServerNamespace = metav1.NamespaceDefault
	apiServerService   = "kubernetes"

	clusterInfoNamespace = metav1.NamespacePublic
	clusterInfoConfigMap = "cluster-info"
	kubeadmNamespace     = metav1.NamespaceSystem
	kubeadmConfigMap     = "kubeadm-config"
)

// csrCluster is the csrcheck.Cluster of the csr commands: Nodes from a
// nodeSource, the Service ranges and the API server's addresses from a
// factsCache, SubjectAccessReviews through the API.
type csrCluster struct {
	ctx    context.Context
	client kubernetes.Interface
	nodes  nodeSource
	facts  *factsCache
}

// nodeSource finds Nodes by name and by what they claim (csrcheck.ClaimKey).
type nodeSource interface {
	node(ctx context.Context, name string) (*corev1.Node, error)
	claiming(ctx context.Context, key string) ([]string, error)
}

func (c *csrCluster) Node(name string) (*corev1.Node, error) { return c.nodes.node(c.ctx, name) }

func (c *csrCluster) NodesClaiming(key string) ([]string, error) {
	return c.nodes.claiming(c.ctx, key)
}

func (c *csrCluster) ServiceRanges() ([]netip.Prefix, error) {
	f := c.facts.get(c.ctx, c.client)
	return f.ranges, f.rangesErr
}

func (c *csrCluster) APIServerAddresses() ([]netip.Addr, error) {
	f := c.facts.get(c.ctx, c.client)
	return f.apiAddrs, f.apiErr
}

func (c *csrCluster) APIServerNames() ([]string, error) {
	f := c.facts.get(c.ctx, c.client)
	return f.apiNames, f.apiNamesErr
}

// Authorize makes the SubjectAccessReview kube-controller-manager's CSR
// approver makes: may the requestor, as the API server authenticated it,
// create certificatesigningrequests/<subresource>.
func (c *csrCluster) Authorize(csr *certificatesv1.CertificateSigningRequest, subresource string) (bool, string, error) {
	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range csr.Spec.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   csr.Spec.Username,
		UID:    csr.Spec.UID,
		Groups: csr.Spec.Groups,
		Extra:  extra,
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Group:       certificatesv1.GroupName,
			Resource:    "certificatesigningrequests",
			Subresource: subresource,
			Verb:        "create",
		},
	}}
	res, err := c.client.AuthorizationV1().SubjectAccessReviews().Create(c.ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return false, "", fmt.Errorf("creating a subjectaccessreview: %w", err)
	}
	reason := res.Status.Reason
	if res.Status.EvaluationError != "" {
		reason += " (evaluation error: " + res.Status.EvaluationError + ")"
	}
	return res.Status.Allowed && !res.Status.Denied, reason, nil
}

// serviceFacts are the Service ranges and the API server's addresses, with
// the errors reading them.
type serviceFacts struct {
	ranges    []netip.Prefix
	rangesErr error
	apiAddrs  []netip.Addr
	apiErr    error
	// apiNames are the host names (csrcheck.ClaimKey) clients reach the
	// API server by; apiNamesErr the error reading them.
	apiNames    []string
	apiNamesErr error
	// fallback: the cluster serves no ServiceCIDRs, so the ranges are only
	// the kubernetes Service's ClusterIPs and --service-cidr.
	fallback bool
}

// factsCache reads the serviceFacts once, or again when they are older than
// ttl (0: never); a read that failed is not kept.
type factsCache struct {
	extra []netip.Prefix // --service-cidr
	// hosts are API server hosts known besides the cluster's objects: the
	// server of the command's own kubeconfig.
	hosts []string
	// lookup resolves a host name of the API server.
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	ttl    time.Duration
	now    func() time.Time

	mu sync.Mutex
	at time.Time
	f  *serviceFacts
}

func newFactsCache(serviceCIDRs []netip.Prefix, ttl time.Duration) *factsCache {
	return &factsCache{extra: serviceCIDRs, lookup: lookupHost, ttl: ttl, now: time.Now}
}

// lookupTimeout bounds each DNS lookup: of an API server host name, and of
// a DNS SAN with --resolve-dns.
const lookupTimeout = 5 * time.Second

// lookupHost resolves host through the system's resolver.
func lookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

func (fc *factsCache) get(ctx context.Context, client kubernetes.Interface) serviceFacts {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.f != nil && (fc.ttl == 0 || fc.now().Sub(fc.at) < fc.ttl) {
		return *fc.f
	}
	f := readServiceFacts(ctx, client, fc.extra)
	f.readAPIEndpoints(ctx, client, fc.hosts, fc.lookup)
	if f.rangesErr != nil || f.apiErr != nil || f.apiNamesErr != nil {
		return f
	}
	fc.f, fc.at = &f, fc.now()
	return f
}

// fallback reports whether the facts, once read, came from a cluster that
// serves no ServiceCIDRs.
func (fc *factsCache) fallback() bool {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.f != nil && fc.f.fallback
}

// readServiceFacts reads the Service ranges: every ServiceCIDR's CIDRs
// where the cluster serves them, else (NotFound: no such API) the
// kubernetes Service's ClusterIPs, always with extra (--service-cidr); and
// the API server's addresses from the kubernetes EndpointSlice in default.
// A missing Service or EndpointSlice adds nothing; any other error is kept.
func readServiceFacts(ctx context.Context, client kubernetes.Interface, extra []netip.Prefix) serviceFacts {
	f := serviceFacts{ranges: append([]netip.Prefix(nil), extra...)}
	opts := metav1.ListOptions{Limit: 500}
	for {
		list, err := client.NetworkingV1().ServiceCIDRs().List(ctx, opts)
		if apierrors.IsNotFound(err) {
			f.fallback = true
			break
		}
		if err != nil {
			f.rangesErr = fmt.Errorf("listing servicecidrs: %w", err)
			break
		}
		for _, sc := range list.Items {
			for _, cidr := range sc.Spec.CIDRs {
				if p, err := netip.ParsePrefix(cidr); err == nil {
					f.ranges = append(f.ranges, p.Masked())
				}
			}
		}
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	svc, err := client.CoreV1().Services(apiServerNamespace).Get(ctx, apiServerService, metav1.GetOptions{})
	switch {
	case err == nil:
		for _, ip := range svc.Spec.ClusterIPs {
			if a, err := netip.ParseAddr(ip); err == nil {
				a = a.Unmap()
				f.ranges = append(f.ranges, netip.PrefixFrom(a, a.BitLen()))
			}
		}
	case !apierrors.IsNotFound(err) && f.rangesErr == nil:
		f.rangesErr = fmt.Errorf("reading service %s/%s: %w", apiServerNamespace, apiServerService, err)
	}
	slice, err := client.DiscoveryV1().EndpointSlices(apiServerNamespace).Get(ctx, apiServerService, metav1.GetOptions{})
	switch {
	case err == nil:
		for _, ep := range slice.Endpoints {
			for _, addr := range ep.Addresses {
				if a, err := netip.ParseAddr(addr); err == nil {
					f.apiAddrs = append(f.apiAddrs, a.Unmap())
				}
			}
		}
	case !apierrors.IsNotFound(err):
		f.apiErr = fmt.Errorf("reading endpointslice %s/%s: %w", apiServerNamespace, apiServerService, err)
	}
	return f
}

// readAPIEndpoints adds to f the hosts clients reach the API server by:
// hosts (the command's own kubeconfig's server), the servers of kubeadm's
// cluster-info kubeconfig in kube-public, and kubeadm's
// controlPlaneEndpoint in kube-system's kubeadm-config. A missing ConfigMap
// adds nothing (not a kubeadm cluster); any other error reading one is
// kept, in both apiErr and apiNamesErr. A host that is an IP address joins
// apiAddrs; a name joins apiNames, and the addresses it resolves to join
// apiAddrs (a name that does not resolve is an error in apiErr: which
// address it stands for cannot be told).
func (f *serviceFacts) readAPIEndpoints(ctx context.Context, client kubernetes.Interface, hosts []string,
	lookup func(context.Context, string) ([]netip.Addr, error)) {
	hosts = append([]string(nil), hosts...)
	keep := func(err error) {
		if f.apiErr == nil {
			f.apiErr = err
		}
		if f.apiNamesErr == nil {
			f.apiNamesErr = err
		}
	}
	cm, err := client.CoreV1().ConfigMaps(clusterInfoNamespace).Get(ctx, clusterInfoConfigMap, metav1.GetOptions{})
	switch {
	case err == nil:
		hosts = append(hosts, clusterInfoHosts(cm.Data["kubeconfig"])...)
	case !apierrors.IsNotFound(err):
		keep(fmt.Errorf("reading configmap %s/%s: %w", clusterInfoNamespace, clusterInfoConfigMap, err))
	}
	cm, err = client.CoreV1().ConfigMaps(kubeadmNamespace).Get(ctx, kubeadmConfigMap, metav1.GetOptions{})
	switch {
	case err == nil:
		if h := controlPlaneEndpointHost(cm.Data["ClusterConfiguration"]); h != "" {
			hosts = append(hosts, h)
		}
	case !apierrors.IsNotFound(err):
		keep(fmt.Errorf("reading configmap %s/%s: %w", kubeadmNamespace, kubeadmConfigMap, err))
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		key := csrcheck.ClaimKey(h)
		if key == "" || seen[key] {
			continue
		}
		seen[key] = true
		if a, err := netip.ParseAddr(key); err == nil {
			f.apiAddrs = append(f.apiAddrs, a)
			continue
		}
		f.apiNames = append(f.apiNames, key)
		addrs, err := lookup(ctx, key)
		if err != nil {
			if f.apiErr == nil {
				f.apiErr = fmt.Errorf("resolving %s, a name of the API server: %w", key, err)
			}
			continue
		}
		for _, a := range addrs {
			f.apiAddrs = append(f.apiAddrs, a.Unmap().WithZone(""))
		}
	}
}

// clusterInfoHosts are the hosts of the servers in kubeadm's cluster-info
// kubeconfig; none when it cannot be read.
func clusterInfoHosts(kubeconfig string) []string {
	cfg, err := clientcmd.Load([]byte(kubeconfig))
	if err != nil {
		return nil
	}
	var out []string
	for _, c := range cfg.Clusters {
		if h := cmdutil.ServerHost(c.Server); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// controlPlaneEndpointHost is the host of kubeadm's controlPlaneEndpoint
// (host or host:port) in a ClusterConfiguration; "" when it is unset or
// cannot be read.
func controlPlaneEndpointHost(clusterConfiguration string) string {
	var cc struct {
		ControlPlaneEndpoint string `json:"controlPlaneEndpoint"`
	}
	if err := yaml.Unmarshal([]byte(clusterConfiguration), &cc); err != nil {
		return ""
	}
	return cmdutil.ServerHost(cc.ControlPlaneEndpoint)
}

var csrNodesResource = schema.GroupResource{Resource: "nodes"}

// listedNodes is the nodeSource of list, approve and deny: every Node,
// listed once (page by page) when first asked: whether another Node claims
// a name needs them all.
type listedNodes struct {
	client kubernetes.Interface

	once   sync.Once
	byName map[string]*corev1.Node
	claims map[string][]string
	err    error
}

func newListedNodes(client kubernetes.Interface) *listedNodes { return &listedNodes{client: client} }

func (l *listedNodes) load(ctx context.Context) error {
	l.once.Do(func() {
		l.byName, l.claims = map[string]*corev1.Node{}, map[string][]string{}
		opts := metav1.ListOptions{Limit: 500}
		for {
			list, err := l.client.CoreV1().Nodes().List(ctx, opts)
			if err != nil {
				l.err = fmt.Errorf("listing nodes: %w", err)
				return
			}
			for i := range list.Items {
				n := &list.Items[i]
				l.byName[n.Name] = n
				for _, k := range csrcheck.ClaimKeys(n) {
					l.claims[k] = append(l.claims[k], n.Name)
				}
			}
			if list.Continue == "" {
				return
			}
			opts.Continue = list.Continue
		}
	})
	return l.err
}

func (l *listedNodes) node(ctx context.Context, name string) (*corev1.Node, error) {
	if err := l.load(ctx); err != nil {
		return nil, err
	}
	if n, ok := l.byName[name]; ok {
		return n, nil
	}
	return nil, apierrors.NewNotFound(csrNodesResource, name)
}

func (l *listedNodes) claiming(ctx context.Context, key string) ([]string, error) {
	if err := l.load(ctx); err != nil {
		return nil, err
	}
	return l.claims[key], nil
}
