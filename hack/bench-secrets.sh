#!/usr/bin/env bash
# Benchmark of kubectl certs check --source secrets at scale, against the real
# test cluster, beside (a) the floor: kubectl get listing the same secrets as
# JSON, and (b) the pipeline people use today (kubectl get, base64 -d and
# openssl x509 per secret) on a 500-secret subset. Measured in the same run.
#
#   hack/bench-secrets.sh [COUNTS...]     default: 5000 20000
#
# Needs GNU time (/usr/bin/time; apt-get install time). Starts its own test
# cluster in .cache/bench-cluster and stops it at the end. Prints a Markdown
# table for docs/benchmarks.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
counts=("${@:-5000 20000}")
[ $# -gt 0 ] || counts=(5000 20000)
runs=${RUNS:-3}

[ -x /usr/bin/time ] || { echo "error: /usr/bin/time missing: apt-get install time" >&2; exit 1; }
make -s build
work=$(mktemp -d)
export KUBECERTS_TEST_CLUSTER_DIR="$root/.cache/bench-cluster"
trap 'hack/test-cluster.sh down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
eval "$(hack/test-cluster.sh up 2>/dev/null)"
go build -o "$work/mksecrets" ./hack/bench/mksecrets

# measure NAME CMD...: median wall seconds and max RSS (MB) over $runs runs.
measure() {
  local name=$1; shift
  local walls=() rss=0
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || true
    read -r wall kb < "$work/time"
    walls+=("$wall")
    [ "$kb" -gt "$rss" ] && rss=$kb
  done
  local median
  median=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  echo "$name|$median|$((rss / 1024))"
}

echo "| secrets | command | wall (s, median of $runs) | peak RSS (MB) | per certificate |"
echo "| ---: | --- | ---: | ---: | ---: |"
have=0
for n in "${counts[@]}"; do
  "$work/mksecrets" -n "$n" -namespace bench >/dev/null 2>&1
  have=$n
  a=$(measure "kubectl get secrets -A --field-selector type=kubernetes.io/tls -o json" \
        kubectl get secrets -A --field-selector type=kubernetes.io/tls -o json)
  c=$(measure "kubectl certs check --source secrets -A -o json" \
        bin/kubectl-certs check --source secrets -A -o json)
  total=$(bin/kubectl-certs check --source secrets -A -o jsonpath='{.summary.total}')
  [ "$total" = "$n" ] || { echo "error: check reported $total certificates, want $n" >&2; exit 1; }
  for row in "$a" "$c"; do
    IFS='|' read -r name wall rss <<<"$row"
    per=$(awk -v w="$wall" -v n="$n" 'BEGIN { printf "%.1f µs", w * 1e6 / n }')
    echo "| $n | \`$name\` | $wall | $rss | $per |"
  done
done

# (b) the per-secret pipeline on 500 secrets, once (it is slow).
kubectl get secrets -n bench -o name > "$work/all-names"
head -500 "$work/all-names" > "$work/names"
pipeline() {
  while read -r s; do
    kubectl get -n bench "$s" -o jsonpath='{.data.tls\.crt}' | base64 -d | openssl x509 -noout -enddate
  done < "$work/names"
}
export -f pipeline; export work
start=$(date +%s.%N)
bash -c pipeline >/dev/null
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" 'BEGIN { w = e - s; printf "| 500 | `kubectl get` + `base64 -d` + `openssl x509 -enddate` per secret | %.1f | - | %.0f µs |\n", w, w * 1e6 / 500 }'
