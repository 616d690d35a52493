#!/usr/bin/env bash
# Measures bulk approval of kubelet serving CSRs on a real API server, in one run:
#
#   (a) kubectl rotate csr approve --all-pending, on $CSRS pending valid CSRs from $NODES nodes;
#   (b) kubectl certificate approve NAME..., the same number of fresh CSRs from the same nodes,
#       every name given in one call;
#   (c) kubectl rotate csr list on (b)'s CSRs while still pending: the same reads and checks as
#       (a) without the writes.
#
# Each CSR is created by its node (impersonated by the admin: spec.username system:node:<name>,
# group system:nodes), asks for the node's own name and InternalIP, and passes every check, so
# both commands approve all of them. Between the rounds the script waits until
# kube-controller-manager has signed every approved CSR, so that signing does not load the
# next round.
#
# Usage: hack/bench-csr-approve.sh            (figures for docs/benchmarks.md on stdout)
# Env:   CSRS=1000; NODES=100; BUILD=1 runs make build first; KEEP=1 keeps the work dir and the
#        cluster; KUBECTL_ROTATE: the plugin binary (default bin/kubectl-rotate); KUBECONFIG: an
#        admin kubeconfig of a running cluster to use, else a cluster is started with
#        hack/test-cluster.sh (state in $KUBECERTS_TEST_CLUSTER_DIR, default .cache/bench-csr-cluster)
#        and stopped at the end.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
CSRS=${CSRS:-1000}
NODES=${NODES:-100}
rotate=${KUBECTL_ROTATE:-$root/bin/kubectl-rotate}

log() { echo "bench-csr-approve: $*" >&2; }
now_ns() { date +%s%N; }
ms() { awk -v ns="$1" 'BEGIN { printf "%.0f", ns / 1e6 }'; }
per() { awk -v ns="$1" -v n="$2" 'BEGIN { printf "%.1f", ns / n / 1e6 }'; }

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-csr-approve.XXXXXX")
started_cluster=0
cleanup() {
  if [ "$started_cluster" = 1 ] && [ "${KEEP:-0}" != 1 ]; then
    KUBECERTS_TEST_CLUSTER_DIR="$cluster_dir" "$root/hack/test-cluster.sh" down >/dev/null 2>&1 || true
  fi
  if [ "${KEEP:-0}" != 1 ]; then rm -rf "$work"; else log "work dir: $work"; fi
}
trap cleanup EXIT

if [ "${BUILD:-0}" = 1 ]; then make -C "$root" build >&2; fi
[ -x "$rotate" ] || { log "no $rotate: run make build (or BUILD=1)"; exit 1; }
command -v kubectl >/dev/null || { log "kubectl not found"; exit 1; }
# kubectl finds the plugin on PATH.
mkdir -p "$work/bin"
cp "$rotate" "$work/bin/kubectl-rotate"
export PATH="$work/bin:$PATH"

if [ -z "${KUBECONFIG:-}" ]; then
  cluster_dir=${KUBECERTS_TEST_CLUSTER_DIR:-$root/.cache/bench-csr-cluster}
  log "starting a test cluster in $cluster_dir"
  eval "$(KUBECERTS_TEST_CLUSTER_DIR="$cluster_dir" "$root/hack/test-cluster.sh" up)"
  started_cluster=1
fi
kubectl version -o json >/dev/null 2>&1 || { log "the cluster of KUBECONFIG=$KUBECONFIG does not answer"; exit 1; }

# --- the generator: Nodes and CSRs, created as the nodes -----------------------------------
cat >"$work/gen.go" <<'EOF'
// Creates nodes bench-node-NNN (InternalIP 10.250.x.y, Hostname) once, and csrs kubelet-serving
// CSRs spread over them, each created as its node (impersonated); prints the CSR names.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	nodes, _ := strconv.Atoi(os.Args[1])
	csrs, _ := strconv.Atoi(os.Args[2])
	round := os.Args[3]
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	check(err)
	cfg.QPS, cfg.Burst = 500, 1000
	admin := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	check(err)
	type job struct {
		client kubernetes.Interface
		name   string
		req    []byte
	}
	jobs := make(chan job)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for j := range jobs {
				csr, err := j.client.CertificatesV1().CertificateSigningRequests().Create(ctx, &certificatesv1.CertificateSigningRequest{
					ObjectMeta: metav1.ObjectMeta{GenerateName: "bench-" + round + "-" + j.name + "-"},
					Spec: certificatesv1.CertificateSigningRequestSpec{Request: j.req, SignerName: certificatesv1.KubeletServingSignerName,
						Usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth}},
				}, metav1.CreateOptions{})
				check(err)
				mu.Lock()
				fmt.Println(csr.Name)
				mu.Unlock()
			}
		})
	}
	for n := 0; n < csrs; n++ {
		i := n % nodes
		name := fmt.Sprintf("bench-node-%03d", i)
		ip := net.IPv4(10, 250, byte(i/250), byte(i%250+1))
		if n < nodes {
			_, err := admin.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
				Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
					{Type: corev1.NodeInternalIP, Address: ip.String()}, {Type: corev1.NodeHostName, Address: name}}}},
				metav1.CreateOptions{})
			if !apierrors.IsAlreadyExists(err) {
				check(err)
			}
		}
		ncfg := rest.CopyConfig(cfg)
		ncfg.Impersonate = rest.ImpersonationConfig{UserName: "system:node:" + name, Groups: []string{"system:nodes", "system:authenticated"}}
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
			Subject:  pkix.Name{CommonName: "system:node:" + name, Organization: []string{"system:nodes"}},
			DNSNames: []string{name}, IPAddresses: []net.IP{ip}}, key)
		check(err)
		jobs <- job{kubernetes.NewForConfigOrDie(ncfg), name, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})}
	}
	close(jobs)
	wg.Wait()
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
EOF
# Built inside the module, for its client-go.
(cd "$root" && go build -o "$work/gen" "$work/gen.go")

# count_approved FILE: how many of the CSRs named in FILE are approved.
count_approved() {
  kubectl get csr -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.conditions[*].type}{"\n"}{end}' |
    awk 'NR == FNR { want[$1] = 1; next } ($1 in want) && /Approved/ { n++ } END { print n + 0 }' "$1" -
}

# wait_issued FILE: until kube-controller-manager has signed every CSR named in FILE.
wait_issued() {
  local deadline=$((SECONDS + 300)) n
  while :; do
    n=$(kubectl get csr -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.certificate}{"\n"}{end}' |
      awk 'NR == FNR { want[$1] = 1; next } ($1 in want) && NF > 1 { n++ } END { print n + 0 }' "$1" -)
    [ "$n" -ge "$(wc -l <"$1")" ] && return 0
    [ "$SECONDS" -ge "$deadline" ] && { log "only $n of $(wc -l <"$1") issued after 300s"; return 1; }
    sleep 1
  done
}

# requests FILE: how many API requests a -v=6 log shows.
# Responses only: client-go also logs each wait of its client-side rate limiter.
requests() { grep -cE '"Response" verb=|\] (GET|PUT|POST|PATCH|DELETE) https://' "$1" || true; }

# throttled FILE: how many requests client-go's rate limiter held back (a -v=6 log shows each wait).
throttled() { grep -c 'client-side throttling' "$1" || true; }

# round NAME: creates $CSRS pending CSRs, names in $work/NAME.names.
round() {
  log "creating $CSRS CSRs from $NODES nodes ($1)"
  local start; start=$(now_ns)
  "$work/gen" "$NODES" "$CSRS" "$1" >"$work/$1.names"
  log "created in $(ms $(($(now_ns) - start))) ms"
}

# --- (a) kubectl rotate csr approve --all-pending ---------------------------------------------
round a
pending_before=$(kubectl get csr -o jsonpath='{range .items[*]}{.status.conditions}{"\n"}{end}' | grep -c '^$' || true)
start=$(now_ns)
kubectl rotate csr approve --all-pending --node-cidr 10.250.0.0/16 -o name -v=6 >"$work/a.out" 2>"$work/a.err" || { log "rotate csr approve failed:"; tail -5 "$work/a.err" >&2; exit 1; }
ta=$(($(now_ns) - start))
approved_a=$(count_approved "$work/a.names")
wait_issued "$work/a.names"

# --- (c) the checks alone: kubectl rotate csr list on round b's pending CSRs, no writes -----
round b
start=$(now_ns)
kubectl rotate csr list --signer kubernetes.io/kubelet-serving -o name -v=6 >"$work/c.out" 2>"$work/c.err" || { log "rotate csr list failed:"; tail -5 "$work/c.err" >&2; exit 1; }
tc=$(($(now_ns) - start))
listed_c=$(wc -l <"$work/c.out")

# --- (b) kubectl certificate approve NAME... ------------------------------------------------
start=$(now_ns)
# shellcheck disable=SC2046 # one argument per name, as intended
kubectl certificate approve -v=6 $(cat "$work/b.names") >"$work/b.out" 2>"$work/b.err" || { log "kubectl certificate approve failed:"; tail -5 "$work/b.err" >&2; exit 1; }
tb=$(($(now_ns) - start))
approved_b=$(count_approved "$work/b.names")
wait_issued "$work/b.names"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "kubectl: $(kubectl version --client -o json | grep -m1 gitVersion | tr -d ' ",' | cut -d: -f2); server: $(kubectl version -o json | grep gitVersion | tail -1 | tr -d ' ",' | cut -d: -f2)"
echo "pending CSRs when (a) ran: $pending_before"
echo
echo "| command | CSRs | approved | API requests | held back by client-side rate limits | wall time | per CSR |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
echo "| (a) \`kubectl rotate csr approve --all-pending\` | $CSRS | $approved_a | $(requests "$work/a.err") | $(throttled "$work/a.err") | $(ms "$ta") ms | $(per "$ta" "$CSRS") ms |"
echo "| (b) \`kubectl certificate approve NAME…\` ($CSRS names, one call) | $CSRS | $approved_b | $(requests "$work/b.err") | $(throttled "$work/b.err") | $(ms "$tb") ms | $(per "$tb" "$CSRS") ms |"
echo "| (c) \`kubectl rotate csr list\` on (b)'s CSRs before they were approved: the reads and checks, no writes | $listed_c | – | $(requests "$work/c.err") | $(throttled "$work/c.err") | $(ms "$tc") ms | $(per "$tc" "$listed_c") ms |"
