// Package framework runs a real, minimal Kubernetes control plane for the
// kubecerts end-to-end tests: etcd (TLS, client certificates),
// kube-apiserver (Node,RBAC authorization, the NodeRestriction admission
// plugin and bootstrap-token authentication, as kubeadm runs it) and kube-controller-manager (only
// its CSR signer and ClusterTrustBundle publisher) as local processes on free loopback ports, with a PKI
// generated afresh for every cluster in kubeadm's layout. There is no
// kubelet, scheduler or container runtime: nodes are API objects, and "being
// a node" means holding a client certificate for system:node:<name>
// (NodeKubeconfig).
//
// A suite calls Main from TestMain and Shared from its tests:
//
//	func TestMain(m *testing.M) { os.Exit(framework.Main(m, framework.Options{})) }
//
//	func TestX(t *testing.T) {
//		c := framework.Shared(t)
//		c.Clientset().CoreV1().Nodes().Create(...)
//	}
//
// KUBECERTS_E2E=0 skips such a suite; KUBECERTS_E2E_KEEP=1 keeps the
// cluster's directory (logs, PKI) after it. kube-apiserver and
// kube-controller-manager come from $KUBECERTS_TOOLS_BIN or, when that is
// unset, hack/build-tools.sh; etcd from there too (the version kubeadm
// deploys; hack/build-tools.sh builds it).
//
// The processes are stopped, and the cluster's directory removed, by Stop,
// when Main returns and when the test binary gets SIGINT or SIGTERM; on Linux
// the kernel also kills them should the test binary die (SIGKILL, a panic,
// go test's timeout), and the next run removes the directory left behind.
package framework

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Options configure Start. The zero value is a usable cluster.
type Options struct {
	// ServingCertLifetime is the validity of the kube-apiserver serving
	// certificate, from now. Default: one year.
	ServingCertLifetime time.Duration
	// Dir holds the cluster's files (see Cluster.Dir); it should not exist
	// or be empty. It is removed by Stop. Default: a new temporary
	// directory.
	Dir string
	// KeepDir leaves Dir in place after Stop, for a look at the logs.
	KeepDir bool
	// StartTimeout bounds the wait for each component to become ready.
	// Default: 60s.
	StartTimeout time.Duration
}

const (
	caLifetime        = 10 * 365 * 24 * time.Hour
	leafLifetime      = 365 * 24 * time.Hour
	serviceCIDR       = "10.0.0.0/24"
	serviceAccountIss = "https://kubernetes.default.svc.cluster.local"
)

// Cluster is a running control plane. Its exported fields are read-only.
type Cluster struct {
	// Dir holds everything of the cluster, laid out like kubeadm's
	// /etc/kubernetes where that applies:
	//
	//	admin.conf     AdminKubeconfig
	//	pki/           PKIDir
	//	kubeconfigs/   those of UserKubeconfig and NodeKubeconfig
	//	logs/          LogDir
	//	etcd/          etcd's data
	//	kube-apiserver-2/, ...  those of StartAPIServer
	Dir string
	// PKIDir is the cluster's PKI in kubeadm's layout (see writePKI).
	PKIDir string
	// LogDir holds the log of each process: etcd.log, kube-apiserver.log,
	// kube-controller-manager.log, kube-apiserver-2.log, ...
	LogDir string
	// Server is the kube-apiserver URL, https://127.0.0.1:<port>.
	Server string
	// CAFile (PKIDir/ca.crt) is the cluster CA: it signs the apiserver
	// serving certificates and the client certificates, and is the
	// apiserver's --client-ca-file and kube-controller-manager's CSR
	// signing CA. CAKeyFile is its key.
	CAFile, CAKeyFile string
	CACert            *x509.Certificate
	CAKey             crypto.Signer
	// ServingCert is the certificate the kube-apiserver at Server serves
	// (PKIDir/apiserver.crt).
	ServingCert *x509.Certificate
	// AdminKubeconfig is a kubeconfig for Server as CN=kubecerts-admin,
	// O=system:masters, with the credentials embedded.
	AdminKubeconfig string

	opts       Options
	bins       binaries
	ca         *certKey
	etcdCA     *certKey
	etcdClient *certKey // etcd/healthcheck-client
	etcdURL    string
	admin      *rest.Config
	clientset  kubernetes.Interface

	mu            sync.Mutex
	etcd          *process
	apiserver     *process
	kcm           *process
	extra         []*process // started by StartAPIServer
	extraSeq      int
	stopped       bool
	stopOnce      sync.Once
	kubeconfigSeq int // numbers the files of UserKubeconfig
}

// Start starts a cluster and waits until it serves. On error, whatever was
// started is stopped again. Cancelling ctx aborts the start; the cluster,
// once returned, runs until Stop.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if opts.ServingCertLifetime <= 0 {
		opts.ServingCertLifetime = 365 * 24 * time.Hour
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	bins, err := findBinaries(ctx)
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts, bins: bins}
	if opts.Dir == "" {
		if c.Dir, err = makeTempDir("kubecerts-e2e-"); err != nil {
			return nil, err
		}
	} else {
		if c.Dir, err = filepath.Abs(opts.Dir); err != nil {
			return nil, err
		}
	}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	c.PKIDir = filepath.Join(c.Dir, "pki")
	c.LogDir = filepath.Join(c.Dir, "logs")
	for _, d := range []string{c.LogDir, c.PKIDir, filepath.Join(c.Dir, "kubeconfigs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := c.writePKI(); err != nil {
		return nil, fmt.Errorf("generating the PKI: %w", err)
	}
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	etcdPort, peerPort, apiPort, kcmPort := ports[0], ports[1], ports[2], ports[3]
	c.Server = "https://127.0.0.1:" + strconv.Itoa(apiPort)
	if err := c.writeAdminKubeconfig(); err != nil {
		return nil, err
	}
	if err := c.startEtcd(ctx, etcdPort, peerPort); err != nil {
		return nil, err
	}
	record := func(p *process) { c.apiserver = p }
	if err := c.startAPIServer(ctx, record, "kube-apiserver", apiPort, c.pki("apiserver.crt"), c.pki("apiserver.key")); err != nil {
		return nil, err
	}
	if err := c.startControllerManager(ctx, kcmPort); err != nil {
		return nil, err
	}
	return c, nil
}

// pki returns the path of a file in PKIDir.
func (c *Cluster) pki(name string) string { return filepath.Join(c.PKIDir, name) }

// freePorts returns n distinct free TCP ports on 127.0.0.1, holding all of
// them open until all are chosen.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// startEtcd starts etcd with TLS and client certificate authentication, as
// kubeadm configures it.
func (c *Cluster) startEtcd(ctx context.Context, port, peerPort int) error {
	c.etcdURL = "https://127.0.0.1:" + strconv.Itoa(port)
	peerURL := "https://127.0.0.1:" + strconv.Itoa(peerPort)
	p, err := startProcess("etcd", c.bins.etcd, filepath.Join(c.LogDir, "etcd.log"),
		"--name=e2e",
		"--data-dir="+filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls="+c.etcdURL,
		"--advertise-client-urls="+c.etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=e2e="+peerURL,
		"--cert-file="+c.pki("etcd/server.crt"),
		"--key-file="+c.pki("etcd/server.key"),
		"--trusted-ca-file="+c.pki("etcd/ca.crt"),
		"--client-cert-auth=true",
		"--peer-cert-file="+c.pki("etcd/peer.crt"),
		"--peer-key-file="+c.pki("etcd/peer.key"),
		"--peer-trusted-ca-file="+c.pki("etcd/ca.crt"),
		"--peer-client-cert-auth=true",
		"--logger=zap",
		"--log-outputs=stderr",
	)
	if err != nil {
		return err
	}
	if err := c.track(p, func(p *process) { c.etcd = p }); err != nil {
		return err
	}
	client, err := tls.X509KeyPair(c.etcdClient.certPEM, c.etcdClient.keyPEM)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AddCert(c.etcdCA.cert)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs:      roots,
		Certificates: []tls.Certificate{client},
	}}}
	defer hc.CloseIdleConnections()
	return p.waitReady(ctx, c.opts.StartTimeout, func(ctx context.Context) error {
		return httpGet(ctx, hc, c.etcdURL+"/health")
	})
}

// errStopped is returned by methods called after Stop.
var errStopped = errors.New("the test cluster is stopped")

// track records a started process with record, under the lock Stop takes:
// so either Stop sees the process or track sees Stop, and stops it itself.
func (c *Cluster) track(p *process, record func(*process)) error {
	c.mu.Lock()
	stopped := c.stopped
	if !stopped {
		record(p)
	}
	c.mu.Unlock()
	if stopped {
		p.stop()
		return errStopped
	}
	return nil
}

// apiserverArgs are the flags of a kube-apiserver: kubeadm's, less those
// for the advertise address and the admission of a real node.
func (c *Cluster) apiserverArgs(name string, port int, certFile, keyFile string) []string {
	return []string{
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + certFile,
		"--tls-private-key-file=" + keyFile,
		"--cert-dir=" + filepath.Join(c.Dir, name),
		"--client-ca-file=" + c.CAFile,
		"--authorization-mode=Node,RBAC",
		// As kubeadm runs it: nodes may write only their own Node and its
		// status, and bootstrap tokens (Secrets in kube-system) authenticate.
		"--enable-admission-plugins=NodeRestriction",
		"--enable-bootstrap-token-auth=true",
		"--etcd-servers=" + c.etcdURL,
		"--etcd-cafile=" + c.pki("etcd/ca.crt"),
		"--etcd-certfile=" + c.pki("apiserver-etcd-client.crt"),
		"--etcd-keyfile=" + c.pki("apiserver-etcd-client.key"),
		"--kubelet-client-certificate=" + c.pki("apiserver-kubelet-client.crt"),
		"--kubelet-client-key=" + c.pki("apiserver-kubelet-client.key"),
		"--requestheader-client-ca-file=" + c.pki("front-proxy-ca.crt"),
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + c.pki("front-proxy-client.crt"),
		"--proxy-client-key-file=" + c.pki("front-proxy-client.key"),
		"--service-account-key-file=" + c.pki("sa.pub"),
		"--service-account-signing-key-file=" + c.pki("sa.key"),
		"--service-account-issuer=" + serviceAccountIss,
		"--service-cluster-ip-range=" + serviceCIDR,
		// The default reconciler writes the kubernetes Service's endpoints
		// with the advertise address, which must not be loopback.
		"--endpoint-reconciler-type=none",
		// On SIGTERM, stop within ~2s even with watches open (the default
		// waits up to 60s for them).
		"--shutdown-send-retry-after=true",
		"--profiling=false",
	}
}

// startAPIServer starts a kube-apiserver on port, records it and
// waits until it is ready.
func (c *Cluster) startAPIServer(ctx context.Context, record func(*process), name string, port int, certFile, keyFile string) error {
	p, err := startProcess(name, c.bins.apiserver, filepath.Join(c.LogDir, name+".log"),
		c.apiserverArgs(name, port, certFile, keyFile)...)
	if err != nil {
		return err
	}
	if err := c.track(p, record); err != nil {
		return err
	}
	return c.waitAPIServer(ctx, p, "https://127.0.0.1:"+strconv.Itoa(port))
}

func (c *Cluster) waitAPIServer(ctx context.Context, p *process, server string) error {
	hc, err := c.adminHTTPClient()
	if err != nil {
		return err
	}
	return p.waitReady(ctx, c.opts.StartTimeout, func(ctx context.Context) error {
		return httpGet(ctx, hc, server+"/readyz")
	})
}

func (c *Cluster) startControllerManager(ctx context.Context, port int) error {
	p, err := startProcess("kube-controller-manager", c.bins.controllerManager,
		filepath.Join(c.LogDir, "kube-controller-manager.log"),
		"--kubeconfig="+c.AdminKubeconfig,
		// csrsigning, and the publisher of the API server's CA as a
		// ClusterTrustBundle (signer kubernetes.io/kube-apiserver-serving).
		"--controllers=csrsigning,kube-apiserver-serving-clustertrustbundle-publisher-controller",
		"--cluster-signing-cert-file="+c.CAFile,
		"--cluster-signing-key-file="+c.CAKeyFile,
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(port),
		"--cert-dir="+filepath.Join(c.Dir, "kube-controller-manager"),
		"--leader-elect=false",
		"--profiling=false",
	)
	if err != nil {
		return err
	}
	if err := c.track(p, func(p *process) { c.kcm = p }); err != nil {
		return err
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	return p.waitReady(ctx, c.opts.StartTimeout, func(ctx context.Context) error {
		return httpGet(ctx, hc, "https://127.0.0.1:"+strconv.Itoa(port)+"/healthz")
	})
}

// httpGet succeeds when url answers 200 OK.
func httpGet(ctx context.Context, hc *http.Client, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return nil
}

// adminHTTPClient is an HTTP client that trusts the CA and presents the
// admin certificate.
func (c *Cluster) adminHTTPClient() (*http.Client, error) {
	rt, err := rest.TransportFor(c.admin)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: rt}, nil
}

// RestartAPIServer stops the main kube-apiserver (SIGTERM) and starts it
// again with the same port, certificates and flags, and waits until it is
// ready. Clients and watches see the connection drop.
func (c *Cluster) RestartAPIServer(ctx context.Context) error {
	c.mu.Lock()
	old, stopped := c.apiserver, c.stopped
	c.mu.Unlock()
	if stopped {
		return errStopped
	}
	old.stop()
	p, err := old.restart()
	if err != nil {
		return err
	}
	if err := c.track(p, func(p *process) { c.apiserver = p }); err != nil {
		return err
	}
	return c.waitAPIServer(ctx, p, c.Server)
}

// APIServer is an additional kube-apiserver started by StartAPIServer.
type APIServer struct {
	// URL is https://127.0.0.1:<port>.
	URL string
	// ServingCert is the certificate it serves (signed by the cluster CA).
	ServingCert *x509.Certificate
	// ServingCertFile and ServingKeyFile are its PEM files, in
	// Cluster.Dir/kube-apiserver-<n>/.
	ServingCertFile, ServingKeyFile string
	// Log is the path of its log file.
	Log string

	p *process
}

// StartAPIServer starts another kube-apiserver on the cluster's etcd, with
// the same CA and flags but a serving certificate of its own, valid for
// servingCertLifetime from now, and waits until it is ready. Stop it with
// its Stop method; Cluster.Stop stops it too.
func (c *Cluster) StartAPIServer(ctx context.Context, servingCertLifetime time.Duration) (*APIServer, error) {
	c.mu.Lock()
	c.extraSeq++
	name := fmt.Sprintf("kube-apiserver-%d", c.extraSeq+1)
	c.mu.Unlock()

	serving, err := sign(servingTemplate(), servingCertLifetime, c.ca)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(c.Dir, name), 0o755); err != nil {
		return nil, err
	}
	certFile, keyFile, err := writeCertKey(serving, filepath.Join(c.Dir, name, "apiserver"))
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	a := &APIServer{
		URL:             "https://127.0.0.1:" + strconv.Itoa(ports[0]),
		ServingCert:     serving.cert,
		ServingCertFile: certFile,
		ServingKeyFile:  keyFile,
		Log:             filepath.Join(c.LogDir, name+".log"),
	}
	record := func(p *process) {
		a.p = p
		c.extra = append(c.extra, p)
	}
	if err := c.startAPIServer(ctx, record, name, ports[0], certFile, keyFile); err != nil {
		a.Stop()
		return nil, err
	}
	return a, nil
}

// Stop stops the apiserver (SIGTERM, then SIGKILL after a grace period) and
// waits for it to exit. It may be called more than once.
func (a *APIServer) Stop() { a.p.stop() }

// Stop stops every process of the cluster, in reverse order of start, each
// by its own PID with SIGTERM and after a grace period SIGKILL, waits for them
// to exit and removes Dir (unless Options.KeepDir). It may be called more
// than once, and concurrently with the other methods, which then fail.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		c.mu.Lock()
		c.stopped = true
		extra := c.extra
		procs := []*process{c.kcm, c.apiserver, c.etcd}
		c.mu.Unlock()
		var wg sync.WaitGroup
		for _, p := range extra {
			wg.Go(p.stop)
		}
		wg.Wait()
		for _, p := range procs {
			p.stop()
		}
		if !c.opts.KeepDir && c.Dir != "" {
			_ = os.RemoveAll(c.Dir)
		}
	})
}

// DumpLogs writes the last n lines of each process's log to w.
func (c *Cluster) DumpLogs(w io.Writer, n int) {
	c.mu.Lock()
	procs := []*process{c.etcd, c.apiserver, c.kcm}
	procs = append(procs, c.extra...)
	c.mu.Unlock()
	for _, p := range procs {
		if p != nil {
			p.dumpLog(w, n)
		}
	}
}

// RESTConfig returns a new client configuration for Server with the admin
// credentials.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.admin) }

// Clientset returns a clientset for Server with the admin credentials.
func (c *Cluster) Clientset() kubernetes.Interface { return c.clientset }
