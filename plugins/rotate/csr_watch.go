package rotate

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	authorizationv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	certlisters "k8s.io/client-go/listers/certificates/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubecerts/kubecerts/plugins/rotate/csrcheck"
	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
	"github.com/kubecerts/kubecerts/shared/duration"
	"github.com/kubecerts/kubecerts/shared/version"
)

var (
	csrWatchLong = cli.LongDesc(`
		Approve valid kubelet CSRs continuously, as they arrive.

		An informer on CertificateSigningRequests (and one on Nodes, whose names and
		addresses the SAN rules read) hands every pending CSR of the --signer signers
		to the checks of "kubectl rotate csr approve", with the same policy flags
		(--node-cidr, --allow-dns, ...); the ones that pass are approved, the others
		left pending. The Service ranges and the API server's addresses are read
		again every minute. Each decision is logged as one structured
		line on stderr (--log-format json for JSON). A CSR left pending is checked
		again when its Node is added or its addresses change, and every --resync.

		It survives API server restarts and expired watches: the informers list
		again, and CSRs created while it was cut off are handled once it is back. A
		write that fails is retried with backoff. SIGINT or SIGTERM stop it cleanly
		(exit status 0), releasing the lease.

		With --leader-elect, replicas elect one leader through a Lease
		(--lease-namespace, --lease-name) and only the leader approves.
		--print-manifests prints what runs it in the cluster, as YAML for kubectl
		apply: a ServiceAccount, a least-privilege ClusterRole and Roles with their
		bindings, and a Deployment of 2 replicas with leader election that runs
		watch with the policy flags given here.`)

	csrWatchExample = templates.Examples(`
		# Approve valid kubelet serving CSRs until interrupted
		kubectl rotate csr watch

		# Log what would be approved, approving nothing
		kubectl rotate csr watch --dry-run

		# Approve serving certificates whose IPs lie in the nodes' subnet
		kubectl rotate csr watch --node-cidr 10.240.0.0/16

		# Run it in the cluster (the image must have kubectl-rotate on PATH)
		kubectl rotate csr watch --print-manifests -n kube-system --image registry.example/kubecerts:v0.1.0 | kubectl apply -f -`)
)

// Defaults of kubectl rotate csr watch.
const (
	DefaultLeaseName = "kubecerts-csr-approver"
	watchWorkers     = 4
)

// CSRWatchOptions is kubectl rotate csr watch.
type CSRWatchOptions struct {
	Signers        []string
	Review         csrReviewFlags
	DryRun         bool
	Resync         time.Duration
	LogFormat      string
	LeaderElect    bool
	LeaseNamespace string
	LeaseName      string
	LeaseDuration  time.Duration
	RenewDeadline  time.Duration
	RetryPeriod    time.Duration

	PrintManifests bool
	Namespace      string
	Image          string

	genericiooptions.IOStreams

	Client   kubernetes.Interface
	Logger   *logr.Logger // set by tests; otherwise from --log-format
	identity string
	flag     func(name string) *pflag.Flag
	// preflight: check access before watching (Complete built the client).
	preflight bool
}

// NewCSRWatchOptions returns the defaults.
func NewCSRWatchOptions(streams genericiooptions.IOStreams) *CSRWatchOptions {
	return &CSRWatchOptions{
		Signers:       []string{csrcheck.KubeletServing},
		Review:        newCSRReviewFlags(),
		Resync:        10 * time.Minute,
		LogFormat:     "text",
		LeaseName:     DefaultLeaseName,
		LeaseDuration: 15 * time.Second,
		RenewDeadline: 10 * time.Second,
		RetryPeriod:   2 * time.Second,
		Image:         version.Image(),
		IOStreams:     streams,
	}
}

// NewCmdCSRWatch is kubectl rotate csr watch.
func NewCmdCSRWatch(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdCSRWatch(f, NewCSRWatchOptions(streams))
}

func newCmdCSRWatch(f cmdutil.Factory, o *CSRWatchOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "watch [--signer SIGNER] [--leader-elect] [--print-manifests]",
		DisableFlagsInUseLine: true,
		Short:                 "Approve valid kubelet CSRs continuously",
		Long:                  csrWatchLong,
		Example:               csrWatchExample,
		Args:                  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(f, cmd); err != nil {
				return err
			}
			if err := o.Validate(cmd); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&o.Signers, "signer", o.Signers, "The signers whose CSRs are approved: "+csrcheck.KubeletServing+" and/or "+csrcheck.KubeletClient+".")
	o.Review.AddFlags(fl)
	fl.BoolVar(&o.DryRun, "dry-run", false, "Log what would be approved; approve nothing.")
	fl.Var(duration.NewValue(&o.Resync), "resync", "How often every pending CSR is checked again (0: only on changes).")
	fl.StringVar(&o.LogFormat, "log-format", o.LogFormat, "How decisions and other messages are logged on stderr: text (klog's structured key=value lines) or json (one JSON object a line).")
	fl.BoolVar(&o.LeaderElect, "leader-elect", false, "Elect a leader through a Lease before approving, so that of several replicas one approves at a time.")
	fl.StringVar(&o.LeaseNamespace, "lease-namespace", "", "The namespace of the Lease (default: the pod's namespace in a cluster, else the context's).")
	fl.StringVar(&o.LeaseName, "lease-name", o.LeaseName, "The name of the Lease; --print-manifests also names its objects after it.")
	fl.Var(duration.NewValue(&o.LeaseDuration), "lease-duration", "How long others wait before taking over a lease that is not renewed.")
	fl.Var(duration.NewValue(&o.RenewDeadline), "renew-deadline", "How long the leader tries to renew before it gives up leading.")
	fl.Var(duration.NewValue(&o.RetryPeriod), "retry-period", "How often candidates try to acquire or renew the lease.")
	fl.BoolVar(&o.PrintManifests, "print-manifests", false, "Print the YAML that runs this command in the cluster (in -n, default kube-system), and exit.")
	fl.StringVar(&o.Image, "image", o.Image, "With --print-manifests: the container image, which must have kubectl-rotate on PATH.")
	registerSignerCompletion(cmd)
	_ = cmd.RegisterFlagCompletionFunc("log-format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// Complete resolves the namespaces and, unless only printing manifests, the
// client.
func (o *CSRWatchOptions) Complete(f cmdutil.Factory, cmd *cobra.Command) error {
	o.flag = cmd.Flag
	if o.PrintManifests {
		o.Namespace = "kube-system"
		if ns := cmd.Flag("namespace"); ns != nil && ns.Changed {
			o.Namespace = ns.Value.String()
		}
		return nil
	}
	if o.LeaderElect && o.LeaseNamespace == "" {
		ns, _, err := f.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return fmt.Errorf("--lease-namespace: %w", err)
		}
		o.LeaseNamespace = ns
	}
	if o.Client == nil {
		cfg, err := f.ToRESTConfig()
		if err != nil {
			return err
		}
		if cfg.QPS == 0 && cfg.RateLimiter == nil {
			cfg.QPS, cfg.Burst = 20, 50
		}
		cfg.UserAgent = "kubecerts-csr-approver/" + version.Get("rotate").Version
		o.Review.apiHost = cmdutil.ServerHost(cfg.Host)
		if o.Client, err = kubernetes.NewForConfig(cfg); err != nil {
			return err
		}
		o.preflight = true
	}
	host, _ := os.Hostname()
	o.identity = host + "_" + string(uuid.NewUUID())
	return nil
}

// Validate checks the flags.
func (o *CSRWatchOptions) Validate(cmd *cobra.Command) error {
	if len(o.Signers) == 0 {
		return cli.UsageErrorf(cmd, "--signer: give at least one signer")
	}
	for _, s := range o.Signers {
		if s != csrcheck.KubeletServing && s != csrcheck.KubeletClient {
			return cli.UsageErrorf(cmd, "--signer %q: watch approves only %s and %s", s, csrcheck.KubeletServing, csrcheck.KubeletClient)
		}
	}
	if o.LogFormat != "text" && o.LogFormat != "json" {
		return cli.UsageErrorf(cmd, "--log-format %q: use text or json", o.LogFormat)
	}
	if o.LeaderElect || o.PrintManifests {
		if o.LeaseName == "" {
			return cli.UsageErrorf(cmd, "--lease-name must not be empty")
		}
		if errs := validation.IsDNS1123Subdomain(o.LeaseName); len(errs) > 0 {
			return cli.UsageErrorf(cmd, "--lease-name %q: not a valid object name: %s", o.LeaseName, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(o.LeaseName); o.PrintManifests && len(errs) > 0 {
			return cli.UsageErrorf(cmd, "--lease-name %q: also the app.kubernetes.io/name label of the objects printed, which it cannot be: %s", o.LeaseName, strings.Join(errs, "; "))
		}
		if o.RetryPeriod <= 0 {
			return cli.UsageErrorf(cmd, "--retry-period (%s) must be longer than 0", duration.Format(o.RetryPeriod))
		}
		if o.LeaseDuration <= o.RenewDeadline {
			return cli.UsageErrorf(cmd, "--lease-duration (%s) must be longer than --renew-deadline (%s)", duration.Format(o.LeaseDuration), duration.Format(o.RenewDeadline))
		}
		if float64(o.RenewDeadline) <= leaderelection.JitterFactor*float64(o.RetryPeriod) {
			return cli.UsageErrorf(cmd, "--renew-deadline (%s) must be longer than %.1f × --retry-period (%s)", duration.Format(o.RenewDeadline), leaderelection.JitterFactor, duration.Format(o.RetryPeriod))
		}
	}
	if o.PrintManifests && o.Image == "" {
		return cli.UsageErrorf(cmd, "--image must not be empty")
	}
	if o.PrintManifests {
		if errs := validation.IsDNS1123Label(o.Namespace); len(errs) > 0 {
			return cli.UsageErrorf(cmd, "--namespace %q: not a valid namespace name: %s", o.Namespace, strings.Join(errs, "; "))
		}
	} else if o.LeaderElect {
		if errs := validation.IsDNS1123Label(o.LeaseNamespace); len(errs) > 0 {
			from := ""
			if !cmd.Flags().Changed("lease-namespace") {
				from = " (-n or the context's namespace)"
			}
			return cli.UsageErrorf(cmd, "--lease-namespace %q%s: not a valid namespace name: %s", o.LeaseNamespace, from, strings.Join(errs, "; "))
		}
	}
	return o.Review.Validate(cmd)
}

// Run prints the manifests, or watches until ctx is cancelled.
func (o *CSRWatchOptions) Run(ctx context.Context) error {
	if o.PrintManifests {
		return o.printManifests()
	}
	if o.preflight {
		if err := o.checkAccess(ctx); err != nil {
			return err
		}
	}
	logger := o.logger()
	c := newCSRApprover(o.Client, o.Signers, o.Review.options(ctx), o.Review.newFactsCache(watchFactsTTL), o.DryRun, logger)
	csrFactory := informers.NewSharedInformerFactoryWithOptions(o.Client, o.Resync, informers.WithTweakListOptions(func(lo *metav1.ListOptions) {
		if len(o.Signers) == 1 {
			lo.FieldSelector = fields.OneTermEqualSelector("spec.signerName", o.Signers[0]).String()
		}
	}))
	nodeFactory := informers.NewSharedInformerFactory(o.Client, 0)
	if err := c.register(csrFactory.Certificates().V1().CertificateSigningRequests(), nodeFactory.Core().V1().Nodes()); err != nil {
		return err
	}
	logger.Info("Watching CSRs", "signers", o.Signers, "dryRun", o.DryRun, "leaderElect", o.LeaderElect, "identity", o.identity)
	defer logger.Info("Stopped watching CSRs")

	csrFactory.Start(ctx.Done())
	nodeFactory.Start(ctx.Done())
	// A reflector backing off from an API server that does not answer
	// ignores the cancel for up to a minute: do not wait that long to exit.
	defer waitAtMost(watchShutdownGrace, csrFactory.Shutdown, nodeFactory.Shutdown)
	if !cache.WaitForCacheSync(ctx.Done(), c.csrSynced, c.nodeSynced) {
		return nil // cancelled before the caches filled
	}
	logger.V(1).Info("Caches synced")
	if !o.LeaderElect {
		c.run(ctx, watchWorkers)
		return nil
	}
	return o.runElected(ctx, c, logger)
}

// watchShutdownGrace is how long watch waits for its informers to stop.
const watchShutdownGrace = 5 * time.Second

// waitAtMost runs fns concurrently and waits for them at most d.
func waitAtMost(d time.Duration, fns ...func()) bool {
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Go(fn)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// checkAccess fails early on what would otherwise make watch retry forever:
// a user who may not list the CSRs or Nodes, and with --leader-elect a
// --lease-namespace that does not exist or whose Lease may not be read or
// created. An API server that does not answer is no reason to stop: the
// informers wait for it.
func (o *CSRWatchOptions) checkAccess(ctx context.Context) error {
	persistent := func(err error) bool {
		return apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err)
	}
	opts := metav1.ListOptions{Limit: 1}
	if len(o.Signers) == 1 {
		opts.FieldSelector = fields.OneTermEqualSelector("spec.signerName", o.Signers[0]).String()
	}
	if _, err := o.Client.CertificatesV1().CertificateSigningRequests().List(ctx, opts); persistent(err) {
		return fmt.Errorf("listing certificatesigningrequests: %w", err)
	}
	if _, err := o.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{Limit: 1}); persistent(err) {
		return fmt.Errorf("listing nodes: %w", err)
	}
	// What the SAN rules read: without it every serving CSR with an IP SAN
	// would stay undecided.
	if f := readServiceFacts(ctx, o.Client, nil); persistent(f.rangesErr) {
		return f.rangesErr
	} else if persistent(f.apiErr) {
		return f.apiErr
	}
	if csrHasString(o.Signers, csrcheck.KubeletClient) {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:               "kubecerts:preflight",
			ResourceAttributes: &authorizationv1.ResourceAttributes{Group: certificatesv1.GroupName, Resource: "certificatesigningrequests", Subresource: csrcheck.SubresourceNodeClient, Verb: "create"},
		}}
		if _, err := o.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{}); persistent(err) {
			return fmt.Errorf("creating subjectaccessreviews (to authorize %s requestors): %w", csrcheck.KubeletClient, err)
		}
	}
	if !o.LeaderElect {
		return nil
	}
	leases := o.Client.CoordinationV1().Leases(o.LeaseNamespace)
	_, err := leases.Get(ctx, o.LeaseName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		// The lease is created on the first election: try it, dry run.
		lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: o.LeaseNamespace, Name: o.LeaseName}}
		_, err = leases.Create(ctx, lease, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("--lease-namespace %q: namespace not found", o.LeaseNamespace)
		}
		if apierrors.IsAlreadyExists(err) {
			err = nil
		}
	}
	if persistent(err) {
		return fmt.Errorf("--lease-namespace %q, --lease-name %q: %w", o.LeaseNamespace, o.LeaseName, err)
	}
	return nil
}

// runElected runs c while this process holds the lease, and runs for it
// again whenever it loses it (say, when the API server was unreachable for
// longer than --renew-deadline), until ctx is cancelled.
func (o *CSRWatchOptions) runElected(ctx context.Context, c *csrApprover, logger logr.Logger) error {
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: o.LeaseNamespace, Name: o.LeaseName},
		Client:     o.Client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: o.identity},
	}
	// term is held while this process approves: a new term waits for the
	// last one's workers to stop, so two never overlap.
	var term sync.Mutex
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			Name:            o.LeaseName,
			LeaseDuration:   o.LeaseDuration,
			RenewDeadline:   o.RenewDeadline,
			RetryPeriod:     o.RetryPeriod,
			ReleaseOnCancel: true,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(lctx context.Context) {
					term.Lock()
					defer term.Unlock()
					logger.Info("Started leading", "lease", o.LeaseNamespace+"/"+o.LeaseName, "identity", o.identity)
					c.run(lctx, watchWorkers)
				},
				OnStoppedLeading: func() {
					logger.Info("Stopped leading", "lease", o.LeaseNamespace+"/"+o.LeaseName, "identity", o.identity)
				},
				OnNewLeader: func(id string) {
					if id != o.identity {
						logger.Info("Another replica leads", "lease", o.LeaseNamespace+"/"+o.LeaseName, "leader", id)
					}
				},
			},
		})
		if err != nil {
			return fmt.Errorf("leader election: %w", err)
		}
		le.Run(ctx)
	}
	term.Lock() // a term still stopping
	defer term.Unlock()
	return nil
}

// logger is the decision logger: klog's (text) or JSON lines on stderr. In
// json mode klog, and so client-go's own messages, log through it too.
func (o *CSRWatchOptions) logger() logr.Logger {
	if o.Logger != nil {
		return *o.Logger
	}
	if o.LogFormat == "json" {
		level := slog.Level(-o.verbosity())
		l := slog.New(slog.NewJSONHandler(o.ErrOut, &slog.HandlerOptions{Level: level}))
		klog.SetSlogLogger(l)
		return logr.FromSlogHandler(l.Handler())
	}
	return klog.Background()
}

// verbosity is klog's -v, which the root command binds.
func (o *CSRWatchOptions) verbosity() int {
	if o.flag == nil {
		return 0
	}
	f := o.flag("v")
	if f == nil {
		return 0
	}
	v, _ := strconv.Atoi(f.Value.String())
	return v
}

// watchFactsTTL is how long watch keeps the Service ranges and the API
// server's addresses before it reads them again.
const watchFactsTTL = time.Minute

// csrApprover is the controller of watch.
type csrApprover struct {
	client  kubernetes.Interface
	signers []string
	opts    csrcheck.Options
	dryRun  bool
	logger  logr.Logger
	facts   *factsCache

	csrs       certlisters.CertificateSigningRequestLister
	csrIndex   cache.Indexer
	nodes      corelisters.NodeLister
	nodeIndex  cache.Indexer
	csrSynced  cache.InformerSynced
	nodeSynced cache.InformerSynced

	mu     sync.Mutex
	queue  workqueue.TypedRateLimitingInterface[string] // nil while not running
	logged map[string]string                            // CSR name → the last decision logged for it
}

// byNodeIndex indexes CSRs by the node that asked for them; byClaimIndex
// Nodes by what they claim (csrcheck.ClaimKeys).
const (
	byNodeIndex  = "kubecerts.io/node"
	byClaimIndex = "kubecerts.io/claim"
)

func newCSRApprover(client kubernetes.Interface, signers []string, opts csrcheck.Options, facts *factsCache, dryRun bool, logger logr.Logger) *csrApprover {
	return &csrApprover{client: client, signers: signers, opts: opts, facts: facts, dryRun: dryRun, logger: logger, logged: map[string]string{}}
}

// cluster is the csrcheck.Cluster of one review: Nodes from the informer's
// cache, the Service facts from c.facts.
func (c *csrApprover) cluster(ctx context.Context) csrcheck.Cluster {
	return &csrCluster{ctx: ctx, client: c.client, nodes: cachedNodes{c.nodes, c.nodeIndex}, facts: c.facts}
}

// cachedNodes is the nodeSource of watch: the Node informer's cache.
type cachedNodes struct {
	lister corelisters.NodeLister
	index  cache.Indexer
}

func (n cachedNodes) node(_ context.Context, name string) (*corev1.Node, error) {
	return n.lister.Get(name)
}

func (n cachedNodes) claiming(_ context.Context, key string) ([]string, error) {
	objs, err := n.index.ByIndex(byClaimIndex, key)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(objs))
	for _, o := range objs {
		if node, ok := o.(*corev1.Node); ok {
			names = append(names, node.Name)
		}
	}
	return names, nil
}

type csrInformer interface {
	Informer() cache.SharedIndexInformer
	Lister() certlisters.CertificateSigningRequestLister
}

type nodeInformer interface {
	Informer() cache.SharedIndexInformer
	Lister() corelisters.NodeLister
}

// register adds the event handlers and the index; call before the
// informers start.
func (c *csrApprover) register(csrs csrInformer, nodes nodeInformer) error {
	ci, ni := csrs.Informer(), nodes.Informer()
	if err := ci.AddIndexers(cache.Indexers{byNodeIndex: func(obj interface{}) ([]string, error) {
		if csr, ok := obj.(*certificatesv1.CertificateSigningRequest); ok {
			if name, ok := csrcheck.NodeName(csr.Spec.Username); ok {
				return []string{name}, nil
			}
		}
		return nil, nil
	}}); err != nil {
		return err
	}
	if err := ni.AddIndexers(cache.Indexers{byClaimIndex: func(obj interface{}) ([]string, error) {
		if n, ok := obj.(*corev1.Node); ok {
			return csrcheck.ClaimKeys(n), nil
		}
		return nil, nil
	}}); err != nil {
		return err
	}
	// Keep of a Node only what the checks read: its name and addresses.
	if err := ni.SetTransform(func(obj interface{}) (interface{}, error) {
		n, ok := obj.(*corev1.Node)
		if !ok {
			return obj, nil
		}
		return &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: n.Name, UID: n.UID, ResourceVersion: n.ResourceVersion},
			Status:     corev1.NodeStatus{Addresses: n.Status.Addresses},
		}, nil
	}); err != nil {
		return err
	}
	if _, err := ci.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { c.enqueueCSR(obj) },
		UpdateFunc: func(_, obj interface{}) { c.enqueueCSR(obj) },
		DeleteFunc: func(obj interface{}) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if csr, ok := obj.(*certificatesv1.CertificateSigningRequest); ok {
				c.mu.Lock()
				delete(c.logged, csr.Name)
				c.mu.Unlock()
			}
		},
	}); err != nil {
		return err
	}
	if _, err := ni.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) { c.enqueueNode(obj) },
		UpdateFunc: func(old, obj interface{}) {
			o, ok1 := old.(*corev1.Node)
			n, ok2 := obj.(*corev1.Node)
			if ok1 && ok2 && slices.Equal(o.Status.Addresses, n.Status.Addresses) {
				return
			}
			c.enqueueNode(obj)
		},
	}); err != nil {
		return err
	}
	c.csrs, c.csrIndex, c.csrSynced = csrs.Lister(), ci.GetIndexer(), ci.HasSynced
	c.nodes, c.nodeIndex, c.nodeSynced = nodes.Lister(), ni.GetIndexer(), ni.HasSynced
	return nil
}

// relevant: a pending CSR of one of the signers.
func (c *csrApprover) relevant(csr *certificatesv1.CertificateSigningRequest) bool {
	return csrHasString(c.signers, csr.Spec.SignerName) && csrcheck.Condition(csr) == csrcheck.ConditionPending
}

func (c *csrApprover) add(name string) {
	c.mu.Lock()
	q := c.queue
	c.mu.Unlock()
	if q != nil {
		q.Add(name)
	}
}

func (c *csrApprover) enqueueCSR(obj interface{}) {
	if csr, ok := obj.(*certificatesv1.CertificateSigningRequest); ok && c.relevant(csr) {
		c.add(csr.Name)
	}
}

// enqueueNode queues the pending CSRs of a Node that appeared or whose
// addresses changed: they may pass now.
func (c *csrApprover) enqueueNode(obj interface{}) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	objs, err := c.csrIndex.ByIndex(byNodeIndex, n.Name)
	if err != nil {
		return
	}
	for _, o := range objs {
		c.enqueueCSR(o)
	}
}

// run approves with workers until ctx is cancelled, then stops them and
// returns. Every pending CSR in the cache is queued at the start.
func (c *csrApprover) run(ctx context.Context, workers int) {
	q := workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](500*time.Millisecond, 30*time.Second),
		workqueue.TypedRateLimitingQueueConfig[string]{})
	c.mu.Lock()
	c.queue = q
	c.mu.Unlock()
	all, _ := c.csrs.List(labels.Everything())
	for _, csr := range all {
		c.enqueueCSR(csr)
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c.processNext(ctx, q) {
			}
		})
	}
	<-ctx.Done()
	c.mu.Lock()
	c.queue = nil
	c.mu.Unlock()
	q.ShutDown()
	wg.Wait()
}

func (c *csrApprover) processNext(ctx context.Context, q workqueue.TypedRateLimitingInterface[string]) bool {
	name, shutdown := q.Get()
	if shutdown {
		return false
	}
	defer q.Done(name)
	if c.handle(ctx, name) && ctx.Err() == nil {
		q.AddRateLimited(name)
	} else {
		q.Forget(name)
	}
	return true
}

// handle checks one CSR and approves it if it passes; it returns whether to
// try again later.
func (c *csrApprover) handle(ctx context.Context, name string) (retry bool) {
	csr, err := c.csrs.Get(name)
	if err != nil || !c.relevant(csr) {
		return false
	}
	r := csrcheck.Review(csr, c.cluster(ctx), c.opts)
	switch {
	case r.Verdict == api.CSRVerdictApprove && c.dryRun:
		c.decision(csr, &r, api.CSRActionWouldApprove, nil)
		return false
	case r.Verdict == api.CSRVerdictApprove:
		if ctx.Err() != nil {
			return false
		}
		action := api.CSRActionLeftPending
		final, wrote, err := updateApproval(ctx, c.client, csr, func(cur *certificatesv1.CertificateSigningRequest) *certificatesv1.CertificateSigningRequestCondition {
			if cur != csr {
				r = csrcheck.Review(cur, c.cluster(ctx), c.opts) // read again after a conflict
			}
			if r.Condition != csrcheck.ConditionPending {
				action = api.CSRActionAlready
				return nil
			}
			if r.Verdict != api.CSRVerdictApprove {
				action = api.CSRActionLeftPending
				return nil
			}
			action = api.CSRActionApproved
			return csrCondition(certificatesv1.CertificateApproved, ReasonApproved, approvalMessage("kubectl rotate csr watch", &r))
		}, nil)
		switch {
		case apierrors.IsNotFound(err):
			return false
		case err != nil:
			if ctx.Err() != nil {
				return false // stopping: the next leader takes it
			}
			c.decision(csr, &r, api.CSRActionError, err)
			return true
		case wrote:
			c.decision(final, &r, api.CSRActionApproved, nil)
		case action == api.CSRActionLeftPending:
			c.decision(final, &r, action, nil)
		}
		return false
	case r.Retryable:
		c.decision(csr, &r, api.CSRActionError, nil)
		return true
	case r.Verdict == api.CSRVerdictDeny:
		c.decision(csr, &r, api.CSRActionLeftPending, nil)
	}
	return false
}

// decision logs one line per decision; a CSR left pending for the same
// reason is logged once.
func (c *csrApprover) decision(csr *certificatesv1.CertificateSigningRequest, r *csrcheck.Result, action api.CSRAction, err error) {
	key := string(action) + "|" + r.Reason
	c.mu.Lock()
	repeat := c.logged[csr.Name] == key
	c.logged[csr.Name] = key
	c.mu.Unlock()
	if repeat && action != api.CSRActionApproved {
		return
	}
	kv := []interface{}{
		"csr", csr.Name, "signer", csr.Spec.SignerName, "requestor", csr.Spec.Username, "node", r.NodeName,
		"verdict", string(r.Verdict), "action", string(action),
	}
	var failed []string
	for _, ch := range r.Failed() {
		failed = append(failed, ch.Name+": "+ch.Message)
	}
	switch action {
	case api.CSRActionApproved:
		c.logger.Info("CSR approved", append(kv, "checks", r.CheckNames(), "reason", r.Reason)...)
	case api.CSRActionWouldApprove:
		c.logger.Info("CSR would be approved (dry run)", append(kv, "checks", r.CheckNames(), "reason", r.Reason)...)
	case api.CSRActionLeftPending:
		c.logger.Info("CSR left pending", append(kv, "failed", failed)...)
	case api.CSRActionError:
		if err == nil {
			c.logger.Info("CSR undecided; retrying", append(kv, "reason", r.Reason)...)
		} else {
			c.logger.Error(err, "CSR approval failed; retrying", kv...)
		}
	}
}
