#!/usr/bin/env bash
# Binary size and start-up time of the kubectl plugins, for docs/benchmarks.md.
#
#   hack/bench-startup.sh [BIN_DIR]     BIN_DIR holds the binaries (default bin/, from make build)
#
# Runs each command RUNS times (default 50) after one warm-up run and prints,
# as a Markdown table, the median and the fastest wall time and the mean CPU
# time (user+sys) per run, all in the same run so that they compare:
#   kubectl version --client        the baseline: kubectl itself
#   kubectl-certs version           the plugin run directly (and the other two)
#   kubectl certs version           the plugin through kubectl's plugin lookup
# KUBECTL picks the kubectl (default: kubectl on PATH). Nothing reaches a
# cluster: KUBECONFIG points at a file that does not exist.
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

# cpu_us FILE: the CPU time (user+sys) of the shell's finished children in the
# output of `times` saved in FILE, in µs. (`times` must run in this shell, not
# in a $(…) subshell, which has children of its own.)
cpu_us() {
  tail -n 1 "$1" | awk '{ # "0m1.234s 0m0.567s"
    us = 0
    for (i = 1; i <= NF; i++) { split($i, ms, "m"); sub("s", "", ms[2]); us += (ms[1] * 60 + ms[2]) * 1000000 }
    printf "%d", us }'
}

# measure LABEL COMMAND...: one table row.
measure() {
  local label=$1 i s e
  shift
  "$@" >/dev/null 2>&1 || { echo "$label: $* failed" >&2; "$@" >&2 || true; exit 1; }
  : >"$tmp/times"
  times >"$tmp/cpu0"
  for ((i = 0; i < RUNS; i++)); do
    s=$EPOCHREALTIME
    "$@" >/dev/null 2>&1
    e=$EPOCHREALTIME
    echo $((${e/./} - ${s/./})) >>"$tmp/times"
  done
  times >"$tmp/cpu1"
  sort -n "$tmp/times" | awk -v label="$label" -v runs="$RUNS" -v cpu=$(($(cpu_us "$tmp/cpu1") - $(cpu_us "$tmp/cpu0"))) '
    { t[NR] = $1 }
    END {
      med = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
      printf "| %s | %.1f ms | %.1f ms | %.1f ms |\n", label, med / 1000, t[1] / 1000, cpu / runs / 1000 }'
}

echo "Machine: $(nproc) cores, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg) at the start;" \
  "$("$KUBECTL" version --client 2>/dev/null | head -n 1); $RUNS runs each"
echo
echo "| binary | size |"
echo "| --- | --- |"
for b in kubectl-certs kubectl-ca_trust kubectl-rotate; do
  printf '| %s | %s bytes (%.1f MiB) |\n' "$b" "$(stat -c %s "$bin/$b")" "$(echo "$(stat -c %s "$bin/$b") / 1048576" | bc -l)"
done
echo
echo "| command | median wall | fastest | CPU per run |"
echo "| --- | --- | --- | --- |"
measure 'kubectl version --client (baseline)' "$KUBECTL" version --client
measure 'kubectl-certs version' kubectl-certs version
measure 'kubectl-ca_trust version' kubectl-ca_trust version
measure 'kubectl-rotate version' kubectl-rotate version
measure 'kubectl certs version (through kubectl)' "$KUBECTL" certs version
echo
echo "Load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
