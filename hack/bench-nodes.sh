#!/usr/bin/env bash
# Benchmark of kubectl certs check --source nodes: 1,000 AKS nodes (Node
# objects with scale-set providerIDs in the real test cluster) checked
# through a fake az (test/e2e/fakeaz) that takes 200 ms per call, at
# --parallel 1, 10 and 50. Two fakes:
#
#   canned  prints an answer captured once from the script (measures kubectl
#           certs itself: listing, starting az, parsing, the report)
#   script  runs the node script with bash and openssl at every call against
#           a directory of real certificates, as the e2e tests do (adds the
#           fake's own CPU: ~5 openssl runs per call)
#
#   hack/bench-nodes.sh
#   NODES=1000 DELAY=200ms PARALLEL="1 10 50" MODES="canned script" hack/bench-nodes.sh
#
# Starts its own test cluster in .cache/bench-nodes-cluster (hack/test-cluster.sh;
# the Kubernetes binaries come from $KUBECERTS_TOOLS_BIN or hack/build-tools.sh)
# and stops it at the end. Needs GNU time (/usr/bin/time) and openssl. Prints a
# Markdown table for docs/benchmarks.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
nodes=${NODES:-1000}
delay=${DELAY:-200ms}
read -r -a parallel <<<"${PARALLEL:-1 10 50}"
read -r -a modes <<<"${MODES:-canned script}"

[ -x /usr/bin/time ] || { echo "error: /usr/bin/time missing: apt-get install time" >&2; exit 1; }
command -v openssl >/dev/null || { echo "error: openssl missing" >&2; exit 1; }
work=$(mktemp -d)
export KUBECERTS_TEST_CLUSTER_DIR="$root/.cache/bench-nodes-cluster"
trap 'hack/test-cluster.sh down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

echo "building kubectl-certs and the fake az" >&2
CGO_ENABLED=0 go build -trimpath -o "$work/kubectl-certs" ./cmd/kubectl-certs
go build -o "$work/az" ./test/e2e/fakeaz
echo "starting the test cluster" >&2
eval "$(hack/test-cluster.sh up 2>/dev/null)"

# One node filesystem for every VM: five real certificates, the kubelet's
# client certificate with its private key, as on AKS.
node="$work/node"
mkdir -p "$node/etc/kubernetes/certs" "$node/var/lib/kubelet/pki"
mkcert() { # CN FILE DAYS
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" -out "$2" \
    -subj "/CN=$1" -days "$3" 2>/dev/null
}
mkcert ca "$node/etc/kubernetes/certs/ca.crt" 3650
mkcert apiserver "$node/etc/kubernetes/certs/apiserver.crt" 365
mkcert client "$node/etc/kubernetes/certs/client.crt" 365
mkcert system:node:bench "$node/var/lib/kubelet/pki/kubelet-client-current.pem" 365
cat "$work/key.pem" >>"$node/var/lib/kubelet/pki/kubelet-client-current.pem"
mkcert bench "$node/var/lib/kubelet/pki/kubelet-server-current.pem" 365
per_node=5

echo "creating $nodes Node objects" >&2
sub=00000000-0000-4000-8000-000000000000
{
  echo '{"apiVersion":"v1","kind":"List","items":['
  for ((i = 0; i < nodes; i++)); do
    s=$((i / 100)) inst=$((i % 100))
    [ "$i" -gt 0 ] && echo ","
    printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"aks-bench%02d-vmss%06d","labels":{"kubecerts.io/bench":"nodes"}},"spec":{"providerID":"azure:///subscriptions/%s/resourceGroups/MC_bench_aks_eastus/providers/Microsoft.Compute/virtualMachineScaleSets/aks-bench%02d-vmss/virtualMachines/%d"}}' \
      "$s" "$inst" "$sub" "$s" "$inst"
  done
  echo ']}'
} >"$work/nodes.json"
kubectl create -f "$work/nodes.json" >/dev/null

# The canned answer: what the fake answers for one node, run for real once.
cat >"$work/az-capture" <<EOF
#!/bin/sh
"$work/az" "\$@" | tee "$work/reply.json"
EOF
chmod +x "$work/az-capture"
FAKEAZ_DEFAULT_NODE="$node" "$work/kubectl-certs" check --source nodes --node aks-bench00-vmss000000 \
  --az-path "$work/az-capture" -o name >/dev/null
grep -q 'ProvisioningState/succeeded' "$work/reply.json" || { echo "error: no canned answer" >&2; cat "$work/reply.json" >&2; exit 1; }

load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "| fake az | --parallel | wall | ideal (${nodes} × ${delay} / parallel) | wall − ideal | CPU user+sys (az included) | certificates |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
case $delay in
  *ms) delay_s=$(awk -v d="${delay%ms}" 'BEGIN { print d / 1000 }') ;;
  *s) delay_s=${delay%s} ;;
  *) echo "error: DELAY=$delay: give ms or s, e.g. 200ms" >&2; exit 1 ;;
esac
for mode in "${modes[@]}"; do
  for p in "${parallel[@]}"; do
    env=(FAKEAZ_DEFAULT_NODE="$node" FAKEAZ_DELAY="$delay")
    [ "$mode" = canned ] && env+=(FAKEAZ_REPLY="$work/reply.json")
    rc=0
    env "${env[@]}" /usr/bin/time -f "%e %U %S" -o "$work/time" \
      "$work/kubectl-certs" check --source nodes -l kubecerts.io/bench=nodes --az-path "$work/az" \
      --parallel "$p" -o 'jsonpath={.summary.total} {.summary.errors}' >"$work/out" 2>"$work/err" || rc=$?
    read -r wall user sys <"$work/time"
    read -r total errors <"$work/out" || true
    if [ "$rc" -ne 0 ] || [ "$total" != $((nodes * per_node)) ] || [ "$errors" != 0 ]; then
      echo "error: $mode --parallel $p: exit $rc, $total certificates, $errors errors" >&2
      head -20 "$work/err" >&2
      exit 1
    fi
    awk -v m="$mode" -v p="$p" -v w="$wall" -v u="$user" -v s="$sys" -v n="$nodes" -v d="$delay_s" -v t="$total" 'BEGIN {
      ideal = n * d / p
      printf "| %s | %d | %.1f s | %.1f s | %+.1f s | %.1f s | %d |\n", m, p, w, ideal, w - ideal, u + s, t }'
  done
done
echo
echo "Load average before the runs: $load; $(nproc) cores."
