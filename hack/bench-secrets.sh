#!/usr/bin/env bash
# Benchmark of kubectl certs check --source secrets at scale, against the real
# test cluster, beside (f) the floor: one unpaged LIST of the same secrets as
# protobuf, bytes discarded (curl with the cluster's admin client
# certificate), which the check's ratio is printed against; (a) kubectl get
# listing them as JSON; and (b) the pipeline people use today (kubectl get,
# base64 -d and openssl x509 per secret) on a 500-secret subset. Measured in
# the same run.
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

# The floor's credentials: the test cluster's admin client certificate.
server=$(kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')
kc() { # kc FIELD FILE: a field of the kubeconfig's cluster or user, -data or a file
  local v
  v=$(kubectl config view --raw --minify -o jsonpath="{$1-data}")
  if [ -n "$v" ]; then base64 -d <<<"$v" >"$2"; else cp "$(kubectl config view --raw --minify -o jsonpath="{$1}")" "$2"; fi
}
kc '.clusters[0].cluster.certificate-authority' "$work/ca.crt"
kc '.users[0].user.client-certificate' "$work/client.crt"
kc '.users[0].user.client-key' "$work/client.key"
chmod 600 "$work/client.key"
# A script, not a function: GNU time runs a program.
cat >"$work/floor" <<EOF
#!/bin/sh
exec curl -sSf --cacert "$work/ca.crt" --cert "$work/client.crt" --key "$work/client.key" \\
  -H 'Accept: application/vnd.kubernetes.protobuf' -o /dev/null \\
  "$server/api/v1/secrets?fieldSelector=type%3Dkubernetes.io%2Ftls"
EOF
chmod +x "$work/floor"

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
  f=$(measure "one unpaged LIST as protobuf (curl, the floor)" "$work/floor")
  a=$(measure "kubectl get secrets -A --field-selector type=kubernetes.io/tls -o json" \
        kubectl get secrets -A --field-selector type=kubernetes.io/tls -o json)
  c=$(measure "kubectl certs check --source secrets -A -o json" \
        bin/kubectl-certs check --source secrets -A -o json)
  total=$(bin/kubectl-certs check --source secrets -A -o jsonpath='{.summary.total}')
  [ "$total" = "$n" ] || { echo "error: check reported $total certificates, want $n" >&2; exit 1; }
  IFS='|' read -r _ floorwall _ <<<"$f"
  for row in "$f" "$a" "$c"; do
    IFS='|' read -r name wall rss <<<"$row"
    per=$(awk -v w="$wall" -v n="$n" 'BEGIN { printf "%.1f µs", w * 1e6 / n }')
    ratio=$(awk -v w="$wall" -v f="$floorwall" 'BEGIN { if (f > 0) printf " (%.2f× the floor)", w / f }')
    echo "| $n | \`$name\` | $wall$ratio | $rss | $per |"
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
