#!/usr/bin/env bash
# What CI runs after npm ci and npm run check (`npm run test:ci`), in this order: the parts of the
# suite that depend on the Node they run on, on Node 20 (the oldest Node teal supports, the one
# that ran npm ci), the proxy tests on the node-http engine, the whole suite on Node 24 (what users
# run), and the proxy and store tests on Node 22 (the proxy drives Node's undocumented HTTP
# parser, the store a native module: the parts a new Node breaks first). Every part runs even when
# an earlier one fails; a summary with each part's test counts and duration (and any wait for a
# Node's build) comes last, and the exit status is non-zero if any part failed.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=.cache/ci
mkdir -p "$logs"

# Nodes 22 and 24 and a better-sqlite3 for each are fetched and built while the Node 20 suite runs,
# side by side (a build is a single compiler process: one after the other, the second kept a core
# idle while the suite waited for it) and at a low priority (nice 10), so the suite's
# timing-sensitive tests keep the CPU and the builds take what they leave. prepare-node.sh builds
# at -O1: 52 s of CPU apiece instead of 123 s (measured here).
declare -A preparing
for major in 24 22; do
  nice -n 10 scripts/prepare-node.sh "$major" >"$logs/prepare-$major.log" 2>&1 &
  preparing[$major]=$!
done

# The slowest files (about a minute or more each, measured 2026-12-07) start first, so that neither
# of the two slots is left running one long file alone at the end while the other is idle.
slow_first=(
  test/migrate/backfill-load.test.ts test/server/takeover.test.ts test/fleet/failures.test.ts test/store/etcd.test.ts
  test/fleet/acknowledged.test.ts test/migrate/cli.test.ts test/store/etcd-server.test.ts
  test/fleet/agents.test.ts test/fleet/quorum.test.ts test/server/takeover-tls.test.ts test/cli/pack-install.test.ts test/fleet/fleet-analysis.test.ts
  test/deploy/docker-deploy.test.ts test/deploy/fair-analysis.test.ts test/deploy/progressive.test.ts
  test/bench/bench.test.ts test/server/cli.test.ts test/dashboard/dashboard.test.ts
  test/proxy/streaming.test.ts test/deploy/deploy.test.ts test/routers/haproxy.test.ts
  test/routers/nginx.test.ts test/deploy/recovery.test.ts test/server/access-log.test.ts
  test/proxy/http1-server.test.ts test/log/access-line.test.ts test/deploy/notifications.test.ts
  test/server/server.test.ts test/proxy/switching.test.ts test/proxy/listener-limits.test.ts
)
ordered() {
  local f s
  for s in "${slow_first[@]}"; do
    for f in "$@"; do [ "$f" = "$s" ] && echo "$f"; done
  done
  for f in "$@"; do
    case " ${slow_first[*]} " in *" $f "*) ;; *) echo "$f" ;; esac
  done
}

summary=()
failed=0

# The tests run the `teal` command compiled from src/ (test/support/teal-build.ts): built once here,
# before any test starts, so that no test file's time includes the build and no two build it. A
# failed build is reported; every test that starts teal then fails with the compiler's errors too.
build_start=$SECONDS
echo "=== building teal for the tests" >&2
if node --import tsx test/support/teal-build.ts; then
  summary+=("$(printf '%-34s %-30s %4d s' "building teal for the tests" "" $((SECONDS - build_start)))")
else
  summary+=("building teal for the tests failed (above)")
  failed=1
fi

part() {
  local name=$1 log="$logs/$2.log" start=$SECONDS status counts
  shift 2
  echo "=== $name" >&2
  "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  # The tap reporter ends with "# pass N", the spec reporter with "ℹ pass N".
  counts=$(grep -aE '^(# |ℹ )(tests|pass|fail) [0-9]+$' "$log" | sed -E 's/^(# |ℹ )//' | paste -sd ' ')
  summary+=("$(printf '%-34s %-30s %4d s  exit %d' "$name" "$counts" $((SECONDS - start)) "$status")")
  [ "$status" -eq 0 ] || failed=1
}

# On Node 20, the folders whose tests exercise what differs between Node versions: the proxy (Node's
# HTTP parser, TLS, HTTP/2), the store (a native module), proxy workers and takeover (listening
# handles passed between processes), child processes and runtimes, the CLI, the admin API, the
# logs, the config. The deployment logic above them (deploy, fleet, migrate, routers, dashboard,
# analysis) is plain JavaScript on stable APIs and runs in the whole suite on Node 24; running it
# twice doubled CI's time (749 s of Node 20's 1,564 s on 2026-12-07) for no Node-specific coverage.
# The bench's own test runs here only: the bench is a developer's tool, run on the Node that ran npm ci.
node_sensitive=(acme api cli config control domain fs health log proxy runtime server store workers)
# shellcheck disable=SC2046 # file names have no spaces
part "node $(node -v): Node-dependent parts" node20 \
  node --import tsx --test --test-concurrency=2 $(ordered $(printf 'test/%s/*.test.ts ' "${node_sensitive[@]}") test/bench/bench.test.ts)

# The proxy tests again on the second proxy engine (node:http, documented APIs only), which teal
# falls back to when a Node's internal parser fails the start-up self-check. It needs only Node 20,
# so it runs before the parts that wait for a build.
# shellcheck disable=SC2046
part "node $(node -v): proxy on node-http" proxy-node-http \
  env TEAL_TEST_PROXY_ENGINE=node-http node --import tsx --test --test-concurrency=2 $(ordered test/proxy/*.test.ts)

# Runs a part on Node MAJOR once its build is there (a part whose build failed is reported, not run).
part_on() {
  local major=$1 name=$2 log=$3 start=$SECONDS
  shift 3
  if wait "${preparing[$major]}"; then
    [ $((SECONDS - start)) -eq 0 ] ||
      summary+=("$(printf '%-34s %-30s %4d s' "waiting for node $major's build" "" $((SECONDS - start)))")
    part "$name" "$log" scripts/test-on-node.sh "$major" "$@"
  else
    cat "$logs/prepare-$major.log" >&2
    summary+=("fetching or building Node $major failed (above): \"$name\" did not run")
    failed=1
  fi
}

# The whole suite but the bench's own test (three minutes of candidates side by side, run on Node 20 above).
# shellcheck disable=SC2046
part_on 24 "node 24: whole suite" node24 \
  $(ordered $(ls test/*/*.test.ts | grep -vE '^test/bench/bench\.test\.ts$'))
# shellcheck disable=SC2046
part_on 22 "node 22: proxy and store" node22 $(ordered test/proxy/*.test.ts test/store/*.test.ts)

echo "=== summary" >&2
printf '%s\n' "${summary[@]}" >&2
printf '%-34s %-30s %4d s\n' "total" "" "$SECONDS" >&2
exit "$failed"
