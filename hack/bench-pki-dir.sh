#!/usr/bin/env bash
# Measures what checking certificate files costs, per certificate, in one run:
#
#   (a) bin/kubectl-certs check --source pki-dir --pki-dir DIR -o json, DIR holding
#       $N certificate files (default 10,000: a CA and leaves it signed, ECDSA P-256);
#   (b) openssl x509 -noout -enddate -in FILE, once per file of the same DIR;
#   (c) kubeadm certs check-expiration on a real kubeadm PKI (made by kubeadm
#       init phase certs/kubeconfig), and bin/kubectl-certs check on the same files.
#
# Usage: hack/bench-pki-dir.sh            (figures for docs/benchmarks.md on stdout)
# Env:   N=10000 files; REPEAT=3 runs of (a) (the best is kept); SMALL_REPEAT=20 runs of
#        each command of (c); BUILD=1 runs make build first; KEEP=1 keeps the work dir;
#        KUBECTL_CERTS: the binary to measure (default bin/kubectl-certs);
#        KUBEADM: the kubeadm; else KUBECERTS_TOOLS_BIN: where kubeadm is (else hack/build-tools.sh
#        finds or builds it).
#
# The kubeadm PKI of (c) is made by hack/kubeadm-node.sh (kubeadm chrooted with --rootfs: root,
# or unshare -r otherwise).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-10000}
REPEAT=${REPEAT:-3}
SMALL_REPEAT=${SMALL_REPEAT:-20}
certs=${KUBECTL_CERTS:-$root/bin/kubectl-certs}

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-pki-dir.XXXXXX")
if [ "${KEEP:-0}" != 1 ]; then trap 'rm -rf "$work"' EXIT; else echo "work dir: $work" >&2; fi

log() { echo "bench-pki-dir: $*" >&2; }

TIMEFORMAT='%3R %3U %3S'
# timed CMD...: runs CMD once, stdout discarded, and prints "WALL_MS CPU_MS" (CPU: user + sys,
# child processes included). Exit statuses 0, 2 and 3 are kubecerts' verdicts (OK, WARNING,
# CRITICAL), not failures.
timed() {
  local rc
  set +e
  { time "$@" >/dev/null 2>"$work/stderr"; } 2>"$work/time"
  rc=$?
  set -e
  if [ "$rc" != 0 ] && [ "$rc" != 2 ] && [ "$rc" != 3 ]; then
    log "$* exited $rc:"; tail -5 "$work/stderr" >&2; return 1
  fi
  awk '{ printf "%.0f %.0f\n", $1 * 1000, ($2 + $3) * 1000 }' "$work/time"
}

# best_of TIMES CMD...: of TIMES runs, the one with the shortest wall time, as timed prints it.
best_of() {
  local times=$1 i r best=""
  shift
  for ((i = 0; i < times; i++)); do
    r=$(timed "$@") || return 1
    if [ -z "$best" ] || [ "${r%% *}" -lt "${best%% *}" ]; then best=$r; fi
  done
  echo "$best"
}

# row LABEL COUNT "WALL_MS CPU_MS": one line of the table.
row() {
  awk -v l="$1" -v n="$2" -v w="${3%% *}" -v c="${3##* }" 'BEGIN {
    if (n > 0) printf "| %s | %d | %d ms | %d ms | %.1f µs | %.1f µs |\n", l, n, w, c, w * 1000 / n, c * 1000 / n
    else printf "| %s | 0 | %d ms | %d ms | – | – |\n", l, w, c }'
}

# minus "W1 C1" "W0 C0": the difference of two timings.
minus() { echo "$((${1%% *} - ${2%% *})) $((${1##* } - ${2##* }))"; }

# openssl_each: what a script does without kubecerts, one openssl per file.
openssl_each() {
  while IFS= read -r f; do openssl x509 -noout -enddate -in "$f"; done <"$work/list"
}

certs_ready() {
  [ -x "$certs" ] && "$certs" check --help 2>/dev/null | grep -q -- '--pki-dir'
}

# --- the certificate directory ----------------------------------------------------------
gen_dir() {
  mkdir -p "$work/gen"
  cat >"$work/gen/go.mod" <<'EOF'
module benchgen

go 1.26
EOF
  cat >"$work/gen/main.go" <<'EOF'
// Writes a CA (ca.crt, ca.key) and n-1 leaves it signed into dir/leaves/NN/,
// ECDSA P-256, expiring spread over the next year.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

func main() {
	dir := os.Args[1]
	n, _ := strconv.Atoi(os.Args[2])
	now := time.Now()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	check(err)
	ca, _ := x509.ParseCertificate(caDER)
	write(filepath.Join(dir, "ca.crt"), "CERTIFICATE", caDER)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(caKey)
	write(filepath.Join(dir, "ca.key"), "PRIVATE KEY", keyDER)
	for i := 0; i < n-1; i++ {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 2)), Subject: pkix.Name{CommonName: fmt.Sprintf("leaf-%05d", i)},
			DNSNames: []string{fmt.Sprintf("leaf-%05d.example", i)}, NotBefore: now.Add(-time.Hour),
			NotAfter: now.Add(time.Duration(i%365+1) * 24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
		check(err)
		write(filepath.Join(dir, "leaves", fmt.Sprintf("%02d", i%100), fmt.Sprintf("leaf-%05d.crt", i)), "CERTIFICATE", der)
	}
}

func write(path, typ string, der []byte) {
	check(os.MkdirAll(filepath.Dir(path), 0o755))
	check(os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
EOF
  (cd "$work/gen" && GOFLAGS= go run . "$work/pki" "$N")
}

# --- the kubeadm node: find_kubeadm, make_node ---------------------------------------------
# shellcheck source=hack/kubeadm-node.sh
. "$root/hack/kubeadm-node.sh"

# --- main ----------------------------------------------------------------------------------
if [ "${BUILD:-0}" = 1 ]; then make -C "$root" build >&2; fi
command -v openssl >/dev/null || { log "openssl not found"; exit 1; }
find_kubeadm build

log "writing $N certificate files into $work/pki"
gen_dir
files=$(find "$work/pki" -name '*.crt' | tee "$work/list" | wc -l)
empty="$work/empty"; mkdir -p "$empty/pki"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
echo "files: $files in $work/pki (leaves/NN/leaf-NNNNN.crt, ca.crt)"
echo
echo "| measurement | certificates | wall | CPU (user+sys) | wall per certificate | CPU per certificate |"
echo "| --- | --- | --- | --- | --- | --- |"

check_flags=(check --source pki-dir -o json)
kubelet_flag=()
if certs_ready; then
  if "$certs" check --help 2>/dev/null | grep -q -- '--kubelet-pki-dir'; then kubelet_flag=(--kubelet-pki-dir "$empty/kubelet"); fi
  big=("$certs" "${check_flags[@]}" --pki-dir "$work/pki" --kubeconfig-dir "$empty" "${kubelet_flag[@]}")
  reported=$("${big[@]}" 2>/dev/null | grep -o '"sha256Fingerprint"' | wc -l || true)
  t=$(best_of "$REPEAT" "${big[@]}")
  row "(a) kubectl certs check --pki-dir DIR -o json, best of $REPEAT" "$reported" "$t"
  # The fixed cost (process start, flags, an empty directory), to give the cost per certificate beyond it.
  t0=$(best_of "$REPEAT" "$certs" "${check_flags[@]}" --pki-dir "$empty/pki" --kubeconfig-dir "$empty" "${kubelet_flag[@]}")
  row "(a) the same on an empty directory (the fixed cost)" 0 "$t0"
  row "(a) minus the fixed cost" "$reported" "$(minus "$t" "$t0")"
else
  echo "| (a) kubectl certs check --pki-dir | – | – | – | – | not measured: $certs has no 'check --pki-dir' yet (make build) |"
fi

log "openssl x509 -enddate on each of $files files"
row "(b) openssl x509 -noout -enddate -in FILE, once per file" "$files" "$(timed openssl_each)"

log "kubeadm PKI with $kubeadm"
make_node "$work/node"
kubeadm_certs=$("${expiration[@]}" -o json | grep -c '"name"')
row "(c) kubeadm certs check-expiration, best of $SMALL_REPEAT" "$kubeadm_certs" "$(best_of "$SMALL_REPEAT" "${expiration[@]}")"
if certs_ready; then
  small=("$certs" "${check_flags[@]}" --pki-dir "$node/etc/kubernetes/pki" --kubeconfig-dir "$node/etc/kubernetes" "${kubelet_flag[@]}")
  reported=$("${small[@]}" 2>/dev/null | grep -o '"sha256Fingerprint"' | wc -l || true)
  row "(c) kubectl certs check on the same kubeadm PKI, best of $SMALL_REPEAT" "$reported" "$(best_of "$SMALL_REPEAT" "${small[@]}")"
else
  echo "| (c) kubectl certs check on the same kubeadm PKI | – | – | – | – | not measured: no 'check --pki-dir' yet |"
fi
