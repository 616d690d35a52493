#!/usr/bin/env bash
# Runs the project's fuzz targets one after the other.
#
#   hack/fuzz.sh PKG:FUNC:EXECS ...      what make test runs: each target for a
#                                        fixed number of executions (-fuzztime Nx)
#   FUZZTIME=5m hack/fuzz.sh PKG:FUNC:EXECS ...
#                                        each target for a wall-clock duration
#
# Why a count in CI: with a duration, Go 1.26's fuzz coordinator can report a
# target as failed with a bare "context deadline exceeded" when the deadline
# fires while its worker is mid-batch (golang/go#75804, fixed in Go 1.27). A
# count has no deadline to race. Under FUZZTIME, a run that fails with that
# message and nothing else (no "Failing input written", no new file under the
# target's testdata/fuzz) is that race, and is reported as such, not as a
# finding; any other failure fails the script.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
go=${GO:-go}
# Minimizing a new interesting input may take this long, at most (Go's default
# is 60s per input, which can stretch a short run many times over).
minimize=${FUZZMINIMIZETIME:-5s}

if [ $# -eq 0 ]; then
  echo "usage: $0 PKG:FUNC:EXECS ..." >&2
  exit 2
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# is_deadline_race LOG CORPUS_BEFORE CORPUS_AFTER: the failure is only
# golang/go#75804: "context deadline exceeded" is the one failure line, every
# other line is progress or go test's summary, and no input was written to the
# corpus. A finding prints "Failing input written to …" and writes the input; a
# crash prints a trace; a t.Fatal prints its file:line. Each fails this check.
is_deadline_race() {
  grep -qx '    context deadline exceeded' "$1" &&
    ! grep -qvE '^(fuzz: elapsed: .*|--- FAIL: [A-Za-z0-9_]+ \([0-9.]+s\)|    context deadline exceeded|FAIL|FAIL	.*|exit status 1)$' "$1" &&
    [ "$2" = "$3" ]
}

corpus_state() { # the files of a target's checked-in corpus, with sizes
  if [ -d "$1" ]; then find "$1" -type f -printf '%P %s\n' | sort; fi
}

# --self-test: the classifier against the logs it must tell apart (make verify).
if [ "$1" = --self-test ]; then
  race='fuzz: elapsed: 0s, gathering baseline coverage: 0/15 completed
fuzz: elapsed: 9s, execs: 67374 (11616/sec), new interesting: 2 (total: 17)
--- FAIL: FuzzParse (11.02s)
    context deadline exceeded
FAIL
exit status 1
FAIL	github.com/kubecerts/kubecerts/shared/certificate	11.025s'
  finding='fuzz: elapsed: 2s, execs: 100 (50/sec), new interesting: 0 (total: 5)
--- FAIL: FuzzParse (2.01s)
    --- FAIL: FuzzParse (0.00s)
        parse_test.go:40: got 2 certificates, want 1

    Failing input written to testdata/fuzz/FuzzParse/0123abcd
    To re-run:
    go test -run=FuzzParse/0123abcd
FAIL
exit status 1'
  mixed="$race
    context deadline exceeded
panic: runtime error: index out of range [recovered]"
  ok=0
  check() { # WANT NAME LOG BEFORE AFTER
    printf '%s\n' "$3" >"$log"
    got=no
    if is_deadline_race "$log" "$4" "$5"; then got=yes; fi
    if [ "$got" != "$1" ]; then echo "hack/fuzz.sh self-test: $2: race=$got, want $1" >&2; ok=1; fi
  }
  check yes "deadline race" "$race" "a 1" "a 1"
  check no "deadline race with an input written" "$race" "a 1" "a 1
b 7"
  check no "finding" "$finding" "" ""
  check no "panic after the deadline" "$mixed" "" ""
  check no "passing run" "PASS" "" ""
  exit $ok
fi

for t in "$@"; do
  IFS=: read -r pkg fn execs <<<"$t"
  if [ -z "$pkg" ] || [ -z "$fn" ] || ! [[ "$execs" =~ ^[0-9]+$ ]]; then
    echo "hack/fuzz.sh: target $t: want PKG:FUNC:EXECS" >&2
    exit 2
  fi
  budget=${FUZZTIME:-${execs}x}
  echo "fuzz: $pkg $fn for $budget"
  corpus="$pkg/testdata/fuzz/$fn"
  before=$(corpus_state "$corpus")
  status=0
  "$go" test "./$pkg" -run '^$' -fuzz "^$fn\$" -fuzztime "$budget" \
    -fuzzminimizetime "$minimize" -parallel 1 2>&1 | tee "$log" || status=$?
  if [ "$status" -ne 0 ]; then
    after=$(corpus_state "$corpus")
    if [ -n "${FUZZTIME:-}" ] && is_deadline_race "$log" "$before" "$after"; then
      echo "fuzz: $fn: stopped by Go's -fuzztime deadline race (golang/go#75804), no failing input; not a finding"
      continue
    fi
    echo "fuzz: $pkg $fn failed" >&2
    exit 1
  fi
done
