#!/usr/bin/env bash
# Benchmark of kubectl certs check --source secrets at scale, against the real
# test cluster, beside the floor: one unpaged LIST of the same secrets as
# protobuf, bytes discarded (curl with the cluster's admin client
# certificate), which every row's ratio is printed against. Measured in the
# same run, for each count of secrets:
#   the floor;
#   client-go alone, fetching and decoding and nothing else (hack/bench/pagelist):
#     the floor's own request (one unpaged LIST), pages of the largest size the
#     check asks for, and one watch-list (-watch-list);
#   the floor again with gzip, as client-go asks for it (curl --compressed):
#     what compressing the response costs kube-apiserver;
#   kubectl certs check --source secrets -A -o json, with the default flags (a
#     watch-list), with --chunk-size of the largest page (paged LISTs, as for
#     a user without watch permission), with --disable-compression (kubectl's
#     flag: responses not gzipped), and with CHUNKS="1000 2000 …", with each
#     --chunk-size;
#   kubectl get secrets … -o json (up to KUBECTL_GET_MAX secrets, default 20000:
#     at 100,000 it takes minutes and GBs);
# and once, the pipeline people use today (kubectl get, base64 -d and openssl
# x509 per secret) on 500 secrets (PIPELINE=0 leaves it out: it takes minutes).
# The rows run in RUNS interleaved rounds (default 3: each round runs every row
# once), so that a change of load falls on the floor and the rest alike. For each
# row: the median wall time, the median CPU time (user+sys) of the command and of
# kube-apiserver while it ran, the peak RSS of the command, and the peak RSS of
# kube-apiserver while it ran (sampled every 20 ms). Before the table: how long filling the cluster took, and which
# requests for secrets the default check made (it fails if one is an unpaged
# LIST).
#
#   hack/bench-secrets.sh [COUNTS...]     default: 20000 100000
#
# Needs GNU time (/usr/bin/time; apt-get install time). Starts its own test
# cluster in .cache/bench-cluster and stops it at the end: the etcd and
# kube-apiserver hack/build-tools.sh builds (etcd at the version kubeadm
# deploys), or those in $KUBECERTS_TOOLS_BIN. Secrets hold 200
# distinct certificates (hack/bench/mksecrets -distinct; DISTINCT=N changes it).
# Prints Markdown for docs/benchmarks.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
counts=("$@")
[ $# -gt 0 ] || counts=(20000 100000)
runs=${RUNS:-3}
chunks=${CHUNKS:-}
get_max=${KUBECTL_GET_MAX:-20000}
distinct=${DISTINCT:-200}

[ -x /usr/bin/time ] || { echo "error: /usr/bin/time missing: apt-get install time" >&2; exit 1; }
for n in "${counts[@]}"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "error: count $n: give a positive number of secrets" >&2; exit 1; }
done
make -s build
work=$(mktemp -d)
export KUBECERTS_TEST_CLUSTER_DIR="$root/.cache/bench-cluster"
if [ "${KEEP_CLUSTER:-0}" = 1 ]; then
  trap 'rm -rf "$work"' EXIT # the cluster and its secrets stay for the next run
else
  trap 'hack/test-cluster.sh down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
fi
eval "$(hack/test-cluster.sh up 2>/dev/null)"
go build -o "$work/mksecrets" ./hack/bench/mksecrets
go build -o "$work/pagelist" ./hack/bench/pagelist
apiserver=$(pgrep -f "kube-apiserver.*$KUBECERTS_TEST_CLUSTER_DIR" | head -n 1)
[ -n "$apiserver" ] || { echo "error: no kube-apiserver of $KUBECERTS_TEST_CLUSTER_DIR running" >&2; exit 1; }

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
cat >"$work/floor" <<EOS
#!/bin/sh
exec curl -sSf --cacert "$work/ca.crt" --cert "$work/client.crt" --key "$work/client.key" \\
  -H 'Accept: application/vnd.kubernetes.protobuf' -o /dev/null \\
  "$server/api/v1/secrets?fieldSelector=type%3Dkubernetes.io%2Ftls"
EOS
chmod +x "$work/floor"
sed 's/^exec curl /exec curl --compressed /' "$work/floor" >"$work/floor-gzip"
chmod +x "$work/floor-gzip"

# rss_kb PID: its resident set now, in KB.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# ticks PID: the CPU time (user+sys) PID has used so far, in clock ticks.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK)

# The rows of one count: add NAME CMD... appends one; measure_rows runs them in RUNS
# interleaved rounds (each round runs every row once, in order, so that a change of
# load on this shared machine falls on all rows alike, the floor included) and prints
# one line per row: "NAME|median wall s|median CPU s|median kube-apiserver CPU s|peak
# RSS MB|kube-apiserver RSS MB". The CPU is the command's user+sys (GNU time) and what
# kube-apiserver used while it ran (/proc/PID/stat). kube-apiserver's RSS is "before
# the row's first run → the peak during its runs" (sampled every 20 ms); it keeps what
# it grew to, so growth shows in the row that caused it, in the first round.
names=() cmds=()
add() {
  local q
  names+=("$1"); shift
  printf -v q '%q ' "$@"
  cmds+=("$q")
}
measure_rows() {
  local i r wall kb u s t0 t1 sampler
  local -a api0 apipeak rss
  : >"$work/runs"
  for ((r = 0; r < runs; r++)); do
    for ((i = 0; i < ${#names[@]}; i++)); do
      [ "$r" -gt 0 ] || api0[i]=$(rss_kb "$apiserver")
      echo 0 >"$work/api"
      ( peak=0; while :; do x=$(rss_kb "$apiserver"); [ "$x" -gt "$peak" ] && { peak=$x; echo "$peak" >"$work/api"; }; sleep 0.02; done ) &
      sampler=$!
      t0=$(ticks "$apiserver")
      # GNU time puts "Command exited with non-zero status N" first: the
      # check's verdicts 2 and 3 are not failures.
      eval "/usr/bin/time -f '%e %M %U %S' -o \"\$work/time\" ${cmds[i]}" >/dev/null 2>"$work/stderr" || true
      t1=$(ticks "$apiserver")
      kill "$sampler"; wait "$sampler" 2>/dev/null || true
      read -r wall kb u s < <(tail -n 1 "$work/time")
      [ "${rss[i]:-0}" -ge "$kb" ] || rss[i]=$kb
      kb=$(cat "$work/api"); [ "${apipeak[i]:-0}" -ge "$kb" ] || apipeak[i]=$kb
      echo "$i $wall $(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }') $(awk -v t="$((t1 - t0))" -v hz="$hz" 'BEGIN { print t / hz }')" >>"$work/runs"
    done
  done
  for ((i = 0; i < ${#names[@]}; i++)); do
    printf '%s|%s|%s|%s|%s|%s\n' "${names[i]}" \
      "$(awk -v i="$i" '$1 == i { print $2 }' "$work/runs" | median)" \
      "$(awk -v i="$i" '$1 == i { print $3 }' "$work/runs" | median)" \
      "$(awk -v i="$i" '$1 == i { print $4 }' "$work/runs" | median)" \
      "$((rss[i] / 1024))" "$((api0[i] / 1024)) → $((apipeak[i] / 1024))"
  done
}
# median: the median of the numbers on stdin, one a line (an odd count's middle one).
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

check=(bin/kubectl-certs check --source secrets -A -o json)
default_chunk=$(bin/kubectl-certs check --help | sed -n 's/.* to \([0-9][0-9]*\) objects, by the bytes.*/\1/p')
etcd_bin=$(tr '\0' ' ' </proc/"$(pgrep -f "etcd --name=e2e --data-dir=$KUBECERTS_TEST_CLUSTER_DIR" | head -n 1)"/cmdline | cut -d' ' -f1)
echo "Machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start; $("$etcd_bin" --version | head -n 1)," \
  "$(kubectl version -o json | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/kube-apiserver \1/p' | tail -n 1);" \
  "$distinct distinct certificates; median of $runs runs."
echo
rows=()
have=0
for n in "${counts[@]}"; do
  start=$(date +%s.%N)
  "$work/mksecrets" -n "$n" -namespace bench -distinct "$distinct" >/dev/null 2>"$work/fill" || { cat "$work/fill" >&2; exit 1; }
  fill=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", e - s }')
  echo "- $n secrets: filling the cluster took ${fill} s (from $have); kube-apiserver at rest: $(($(rss_kb "$apiserver") / 1024)) MB RSS."
  have=$n
  # The check reads the Secrets with one watch-list, and any LIST it makes is
  # paged: -v=6 prints each request.
  "${check[@]}" -v=6 >/dev/null 2>"$work/v6" || true
  grep 'GET.*/api/v1/secrets?' "$work/v6" >"$work/reqs" || true
  [ -s "$work/reqs" ] || { echo "error: no request for secrets in the check's -v=6 output:" >&2; tail -5 "$work/v6" >&2; exit 1; }
  unpaged=$(grep -v 'limit=\|sendInitialEvents=true' "$work/reqs" || true)
  [ -z "$unpaged" ] || { echo "error: the check made unpaged LIST(s) of secrets:" >&2; echo "$unpaged" >&2; exit 1; }
  echo "  The check made $(grep -c 'sendInitialEvents=true' "$work/reqs") watch-list and $(grep -c 'limit=' "$work/reqs") LIST requests for secrets, none unpaged."
  total=$(bin/kubectl-certs check --source secrets -A -o jsonpath='{.summary.total}' || true)
  [ "$total" = "$n" ] || { echo "error: check reported $total certificates, want $n" >&2; exit 1; }

  add "one unpaged LIST as protobuf (curl, the floor)" "$work/floor"
  add "the floor with gzip (curl --compressed)" "$work/floor-gzip"
  add "client-go alone, the floor's request (one unpaged LIST, decoded: hack/bench/pagelist -chunk-size 0)" "$work/pagelist" -chunk-size 0
  add "client-go's pager alone, pages of the largest size (hack/bench/pagelist)" "$work/pagelist" -chunk-size "$default_chunk"
  add "client-go's watch-list alone (hack/bench/pagelist -watch-list)" "$work/pagelist" -watch-list
  add "kubectl certs check --source secrets -A -o json" "${check[@]}"
  add "kubectl certs check --source secrets -A -o json --chunk-size $default_chunk (paged LISTs, no watch-list)" "${check[@]}" --chunk-size "$default_chunk"
  add "kubectl certs check --source secrets -A -o json --disable-compression" "${check[@]}" --disable-compression
  for c in $chunks; do
    add "kubectl certs check --source secrets -A -o json --chunk-size $c" "${check[@]}" --chunk-size "$c"
  done
  if [ "$n" -le "$get_max" ]; then
    add "kubectl get secrets -A --field-selector type=kubernetes.io/tls -o json" \
      kubectl get secrets -A --field-selector type=kubernetes.io/tls -o json
  fi
  mapfile -t batch < <(measure_rows)
  names=() cmds=()
  f=${batch[0]}
  IFS='|' read -r _ floorwall _ <<<"$f"
  for row in "${batch[@]}"; do
    IFS='|' read -r name wall cpu apicpu rss api <<<"$row"
    per=$(awk -v w="$wall" -v n="$n" 'BEGIN { printf "%.1f µs", w * 1e6 / n }')
    ratio=$(awk -v w="$wall" -v f="$floorwall" 'BEGIN { if (f > 0) printf "%.2f×", w / f }')
    [ "$rss" = 0 ] && rss=-
    rows+=("| $n | \`$name\` | $wall | $ratio | $cpu | $apicpu | $rss | $api | $per |")
  done
done
echo
echo "| secrets | command | wall (s) | to the floor | CPU (s) | kube-apiserver CPU (s) | peak RSS (MB) | kube-apiserver RSS, start → peak (MB) | per secret |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"

if [ "${PIPELINE:-1}" != 0 ]; then
  # The per-secret pipeline on 500 secrets, once (it is slow).
  kubectl get secrets -n bench -o name | head -500 >"$work/names"
  pipeline() {
    while read -r s; do
      kubectl get -n bench "$s" -o jsonpath='{.data.tls\.crt}' | base64 -d | openssl x509 -noout -enddate
    done <"$work/names"
  }
  export -f pipeline; export work
  start=$(date +%s.%N)
  bash -c pipeline >/dev/null
  end=$(date +%s.%N)
  awk -v s="$start" -v e="$end" 'BEGIN { w = e - s; printf "| 500 | `kubectl get` + `base64 -d` + `openssl x509 -enddate` per secret | %.1f | | | | - | | %.0f µs |\n", w, w * 1e6 / 500 }'
fi
echo
echo "Load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
