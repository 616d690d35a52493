#!/usr/bin/env bash
# Benchmark of kubectl certs check --source kubelets: 2,000 Node objects in
# the real test cluster, each pointing (InternalIP 127.0.0.1, its own
# daemonEndpoints port) at a TLS listener of one helper process
# (hack/bench/kubelets) that answers every handshake after LATENCY, checked
# with --parallel 50 -o json; beside it, in the same run, the baseline a
# person would write: a loop of `openssl s_client -connect 127.0.0.1:PORT
# </dev/null` over the same kubelets, timed over BASELINE of them (openssl
# takes long; the figure is scaled to all nodes, and says so).
#
#   hack/bench-kubelets.sh
#   NODES=2000 PARALLEL="50" LATENCY=20ms BASELINE=200 hack/bench-kubelets.sh
#
# Starts its own test cluster in .cache/bench-kubelets-cluster
# (hack/test-cluster.sh; the Kubernetes binaries come from $KUBECERTS_TOOLS_BIN
# or hack/build-tools.sh) and stops it at the end. Needs GNU time
# (/usr/bin/time) and openssl. Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
nodes=${NODES:-2000}
latency=${LATENCY:-20ms}
baseline=${BASELINE:-200}
read -r -a parallel <<<"${PARALLEL:-50}"

[ -x /usr/bin/time ] || { echo "error: /usr/bin/time missing: apt-get install time" >&2; exit 1; }
command -v openssl >/dev/null || { echo "error: openssl missing" >&2; exit 1; }
[ "$(ulimit -n)" -gt $((nodes + 200)) ] || ulimit -n $((nodes + 1024))
work=$(mktemp -d)
export KUBECERTS_TEST_CLUSTER_DIR="$root/.cache/bench-kubelets-cluster"
helper=
cleanup() {
  [ -n "$helper" ] && kill "$helper" 2>/dev/null || true
  hack/test-cluster.sh down >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "building kubectl-certs and the kubelets helper" >&2
CGO_ENABLED=0 go build -trimpath -o "$work/kubectl-certs" ./cmd/kubectl-certs
go build -o "$work/kubelets" ./hack/bench/kubelets
echo "starting the test cluster" >&2
eval "$(hack/test-cluster.sh up 2>/dev/null)"

echo "serving $nodes kubelets and creating their Node objects" >&2
mkfifo "$work/ready"
"$work/kubelets" -n "$nodes" -latency "$latency" -ca "$work/ca.crt" -ports "$work/ports" >"$work/ready" &
helper=$!
read -r word count <"$work/ready"
[ "$word" = ready ] && [ "$count" = "$nodes" ] || { echo "error: the helper did not start" >&2; exit 1; }

case $latency in
  *ms) lat_s=$(awk -v d="${latency%ms}" 'BEGIN { print d / 1000 }') ;;
  *s) lat_s=${latency%s} ;;
  *) echo "error: LATENCY=$latency: give ms or s" >&2; exit 1 ;;
esac
load=$(cut -d' ' -f1-3 /proc/loadavg)

# The baseline: openssl s_client, one process per kubelet, over the first
# $baseline ports.
head -n "$baseline" "$work/ports" >"$work/ports.base"
/usr/bin/time -f "%e %U %S" -o "$work/time.base" bash -c '
  while read -r p; do
    openssl s_client -connect "127.0.0.1:$p" </dev/null >/dev/null 2>&1 || { echo "openssl failed on $p" >&2; exit 1; }
  done <"$1"' _ "$work/ports.base"
read -r bwall buser bsys <"$work/time.base"

echo "| run | kubelets | wall | wall per kubelet | ideal (kubelets × ${latency} / parallel) | CPU user+sys | CPU per kubelet | certificates |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
awk -v n="$baseline" -v all="$nodes" -v w="$bwall" -v u="$buser" -v s="$bsys" -v l="$lat_s" 'BEGIN {
  printf "| openssl s_client loop (measured) | %d | %.1f s | %.1f ms | %.1f s | %.1f s | %.1f ms | %d |\n", n, w, 1000 * w / n, n * l, u + s, 1000 * (u + s) / n, n
  printf "| openssl s_client loop (scaled ×%g) | %d | %.1f s | | %.1f s | %.1f s | | |\n", all / n, all, w * all / n, all * l, (u + s) * all / n }'
for p in "${parallel[@]}"; do
  rc=0
  /usr/bin/time -f "%e %U %S" -o "$work/time" "$work/kubectl-certs" check --source kubelets -l kubecerts.io/bench=kubelets \
    --kubelet-certificate-authority "$work/ca.crt" --parallel "$p" -o json >"$work/out.json" 2>"$work/err" || rc=$?
  read -r wall user sys <"$work/time"
  total=$(grep -c '"location": "node/bench-kubelet-' "$work/out.json" || true)
  verified=$(grep -c '"verified": true' "$work/out.json" || true)
  errors=$(grep -c '"message"' "$work/out.json" || true)
  if [ "$rc" -ne 0 ] || [ "$total" != "$nodes" ] || [ "$verified" != "$nodes" ] || [ "$errors" != 0 ]; then
    echo "error: --parallel $p: exit $rc, $total certificates, $verified verified, $errors errors" >&2
    head -20 "$work/err" >&2
    exit 1
  fi
  awk -v p="$p" -v n="$nodes" -v w="$wall" -v u="$user" -v s="$sys" -v l="$lat_s" -v bw="$bwall" -v bn="$baseline" 'BEGIN {
    printf "| kubectl certs check --source kubelets --parallel %d -o json | %d | %.2f s | %.2f ms | %.2f s | %.2f s | %.2f ms | %d |\n", p, n, w, 1000 * w / n, n * l / p, u + s, 1000 * (u + s) / n, n
    printf "\nSpeed-up over the scaled openssl loop: %.0f×.\n", (bw * n / bn) / w }'
done
echo
echo "Load average before the runs: $load; $(nproc) cores; handshake latency $latency."
