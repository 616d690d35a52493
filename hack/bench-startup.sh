#!/usr/bin/env bash
# Binary size and start-up time of the kubectl plugins against kubeadm's, for docs/benchmarks.md.
#
#   hack/bench-startup.sh [BIN_DIR]     BIN_DIR holds the binaries (default bin/, from make build)
#
# Runs each command once to warm up, then RUNS rounds (default 50) in which every command
# runs once, in turn, so that a change in the machine's load falls on all of them alike;
# prints, as a Markdown table, the median and the fastest wall time, the mean CPU time
# (user+sys) per run, and the median's ratio to kubeadm's for the same job:
#   kubeadm version                          the yardstick for start-up (issue 19: at most half)
#   /bin/true                                what starting any process costs here
#   kubectl version --client                 kubectl itself
#   kubectl-certs version                    the plugin run directly (and the other two)
#   kubectl certs version                    the plugin through kubectl's plugin lookup
#   kubeadm certs check-expiration           the yardstick for checking a node's PKI
#   kubectl-certs check --source pki-dir     the same files: a PKI and kubeconfigs that kubeadm
#                                            itself made (init phase certs all, kubeconfig all;
#                                            see hack/kubeadm-node.sh)
# KUBECTL picks the kubectl (default: kubectl on PATH); KUBEADM the kubeadm (default
# $KUBECERTS_TOOLS_BIN/kubeadm, else the one hack/build-tools.sh caches, which this script does
# not build). Nothing reaches a cluster: KUBECONFIG points at a file that does not exist.
set -euo pipefail
export LC_ALL=C
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "${1:-$root/bin}" && pwd)
RUNS=${RUNS:-50}
KUBECTL=${KUBECTL:-$(command -v kubectl)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export KUBECONFIG=$tmp/no-kubeconfig
export PATH=$bin:$PATH

for b in kubectl-certs kubectl-ca_trust kubectl-rotate; do
  [ -x "$bin/$b" ] || { echo "no $bin/$b: run make build first" >&2; exit 1; }
done
# shellcheck source=hack/kubeadm-node.sh
. "$root/hack/kubeadm-node.sh"
find_kubeadm
make_node "$tmp/node"
pki=$tmp/node/etc/kubernetes/pki

# The commands, in the table's order. add LABEL BASELINE COMMAND...: BASELINE is the index
# of the row whose median this one's is divided by (itself for a yardstick). Each command
# becomes a function, run_N, so that a timed run costs the command and nothing else.
labels=() baselines=()
add() {
  local i=${#labels[@]} q
  labels+=("$1")
  baselines+=("$2")
  shift 2
  printf -v q '%q ' "$@"
  eval "run_$i() { $q >/dev/null 2>&1; }"
}
# kubecerts' exit statuses 2 and 3 are verdicts (WARNING, CRITICAL), not failures.
verdict() {
  local rc=0
  "$@" || rc=$?
  [ "$rc" = 0 ] || [ "$rc" = 2 ] || [ "$rc" = 3 ]
}
add '`kubeadm version` (yardstick)' 0 "$kubeadm" version
add '`/bin/true` (starting any process from this shell)' 0 /bin/true
add '`kubectl version --client`' 0 "$KUBECTL" version --client
add '`kubectl-certs version`' 0 kubectl-certs version
add '`kubectl-ca_trust version`' 0 kubectl-ca_trust version
add '`kubectl-rotate version`' 0 kubectl-rotate version
add '`kubectl certs version` (through kubectl)' 0 "$KUBECTL" certs version
add '`kubeadm certs check-expiration` (yardstick)' 7 "${expiration[@]}"
add '`kubectl-certs check --source pki-dir --pki-dir DIR`, same PKI' 7 verdict kubectl-certs check --source pki-dir --pki-dir "$pki"
n=${#labels[@]}

# cpu_us: the CPU time (user+sys) of the shell's finished children, in µs, from the output
# of `times` on stdin. (`times` must run in this shell, not in a $(…) subshell, which has
# children of its own.)
cpu_us() {
  tail -n 1 | awk '{ # "0m1.234s 0m0.567s"
    us = 0
    for (i = 1; i <= NF; i++) { split($i, ms, "m"); sub("s", "", ms[2]); us += (ms[1] * 60 + ms[2]) * 1000000 }
    printf "%d", us }'
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
for ((i = 0; i < n; i++)); do
  "run_$i" || { echo "${labels[$i]} failed:" >&2; type "run_$i" >&2; exit 1; }
done
# One line per timed run: "INDEX WALL_µs", then the output of `times` after it.
: >"$tmp/runs"
times >>"$tmp/runs"
for ((r = 0; r < RUNS; r++)); do
  for ((i = 0; i < n; i++)); do
    s=$EPOCHREALTIME
    "run_$i" || true
    e=$EPOCHREALTIME
    echo "$i $((${e/./} - ${s/./}))" >>"$tmp/runs"
    times >>"$tmp/runs"
  done
done

# Per row: WALL_µs list and the CPU µs each run added.
awk -v n="$n" '
  function us(s,   ms) { split(s, ms, "m"); sub("s", "", ms[2]); return (ms[1] * 60 + ms[2]) * 1000000 }
  NR <= 2 { if (NR == 2) prev = us($1) + us($2); next }      # times before the first run
  (NR - 2) % 3 == 1 { i = $1; wall[i] = wall[i] " " $2; next }  # "INDEX WALL"
  (NR - 2) % 3 == 0 { now = us($1) + us($2); cpu[i] += now - prev; prev = now }  # children line
  END { for (i = 0; i < n; i++) print i, cpu[i], wall[i] }
' "$tmp/runs" >"$tmp/rows"

echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(uname -sr)," \
  "load average $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; $("$KUBECTL" version --client 2>/dev/null | head -n 1);" \
  "kubeadm $("$kubeadm" version -o short); $RUNS rounds"
echo
echo "| binary | size |"
echo "| --- | --- |"
for b in kubectl-certs kubectl-ca_trust kubectl-rotate; do
  printf '| %s | %s bytes (%.1f MiB) |\n' "$b" "$(stat -c %s "$bin/$b")" "$(echo "$(stat -c %s "$bin/$b") / 1048576" | bc -l)"
done
echo
echo "| command | median wall | fastest | CPU per run | median ÷ kubeadm's |"
echo "| --- | --- | --- | --- | --- |"
while read -r i cpu walls; do
  # shellcheck disable=SC2086
  printf '%s\n' $walls | sort -n | awk -v i="$i" -v cpu="$cpu" -v runs="$RUNS" '
    { t[NR] = $1 }
    END { printf "%d %.1f %.1f %.1f\n", i, ((NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2) / 1000, t[1] / 1000, cpu / runs / 1000 }'
done <"$tmp/rows" >"$tmp/stats"
while read -r i med fast cpu; do
  base=$(awk -v b="${baselines[$i]}" '$1 == b { print $2 }' "$tmp/stats")
  printf '| %s | %s ms | %s ms | %s ms | %s |\n' "${labels[$i]}" "$med" "$fast" "$cpu" "$(echo "$med / $base" | bc -l | xargs printf '%.2f')"
done <"$tmp/stats"
