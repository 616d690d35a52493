#!/usr/bin/env bash
# Runs the e2e test cluster (etcd, kube-apiserver, kube-controller-manager's
# CSR signer, fresh PKI) in the background, for trying the plugins by hand.
#
#   hack/test-cluster.sh up     start it and wait until it serves
#   hack/test-cluster.sh env    print "export KUBECONFIG=..." (eval "$(hack/test-cluster.sh env)")
#   hack/test-cluster.sh down   stop it and remove its files
#
# Its state (pid, kubeconfig, logs under cluster/logs/) lives in
# .cache/test-cluster, or $KUBECERTS_TEST_CLUSTER_DIR. The Kubernetes binaries
# come from $KUBECERTS_TOOLS_BIN or hack/build-tools.sh (minutes the first time).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
state="${KUBECERTS_TEST_CLUSTER_DIR:-$root/.cache/test-cluster}"
pidfile="$state/pid"

pid() { cat "$pidfile" 2>/dev/null || true; }
running() { local p; p=$(pid); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

env_line() { echo "export KUBECONFIG=$state/kubeconfig"; }

up() {
  if running; then
    echo "test cluster already running (pid $(pid)), server $(cat "$state/ready" 2>/dev/null || echo '(starting)')" >&2
    env_line
    return 0
  fi
  rm -rf "$state"
  mkdir -p "$state"
  local bin="${KUBECERTS_TOOLS_BIN:-}"
  if [ -z "$bin" ]; then
    bin=$("$root/hack/build-tools.sh" | tail -n 1)
  fi
  echo "building test/e2e/cmd/testcluster" >&2
  (cd "$root" && go build -o "$state/testcluster" ./test/e2e/cmd/testcluster)

  # A session of its own: no terminal signals reach it; it runs until down.
  KUBECERTS_TOOLS_BIN="$bin" setsid "$state/testcluster" -state-dir "$state" \
    </dev/null >"$state/testcluster.log" 2>&1 &
  local launched=$!

  local deadline=$((SECONDS + 120))
  until [ -f "$state/ready" ]; do
    if { ! kill -0 "$launched" 2>/dev/null && ! running; } || [ "$SECONDS" -ge "$deadline" ]; then
      echo "test cluster failed to start; its log:" >&2
      cat "$state/testcluster.log" >&2
      down
      return 1
    fi
    sleep 0.2
  done
  echo "test cluster up (pid $(pid)): server $(cat "$state/ready"), logs in $state/cluster/logs" >&2
  echo "use it with: eval \"\$($0 env)\"" >&2
  env_line
}

down() {
  if running; then
    local p
    p=$(pid)
    kill -TERM "$p"
    local deadline=$((SECONDS + 60))
    while kill -0 "$p" 2>/dev/null; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        echo "pid $p still running after 60s; sending SIGKILL" >&2
        kill -KILL "$p" 2>/dev/null || true
        break
      fi
      sleep 0.2
    done
    echo "test cluster stopped" >&2
  else
    echo "test cluster not running" >&2
  fi
  rm -rf "$state"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  env)
    if ! running || [ ! -f "$state/ready" ]; then
      echo "test cluster not running: run $0 up" >&2
      exit 1
    fi
    env_line
    ;;
  *)
    echo "usage: $0 up|env|down" >&2
    exit 2
    ;;
esac
