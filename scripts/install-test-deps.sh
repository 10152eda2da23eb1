#!/usr/bin/env bash
# Installs the Debian packages teal's tests and benchmarks start for real: nginx, HAProxy, wrk,
# Prometheus, the Docker engine, a Docker registry (to pull from), etcd, PostgreSQL, pebble (an
# ACME test server), h2load and Chromium (for the dashboard's browser tests).
# Idempotent; uses sudo when not root.
set -euo pipefail
packages=(nginx haproxy wrk prometheus docker.io docker-registry chromium etcd-server etcd-client postgresql pebble nghttp2-client)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then echo "test dependencies present: ${packages[*]}"; exit 0; fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packages start system services we do not use; tests run their own instances.
$SUDO systemctl disable --now nginx haproxy prometheus docker docker.socket containerd docker-registry etcd postgresql pebble >/dev/null 2>&1 || true
echo "installed: ${missing[*]}"
