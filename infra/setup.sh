#!/usr/bin/env bash
# Installs the system binaries nimmer starts as real processes (nats-server, PostgreSQL).
# `--bench` also installs what the benchmarks measure against (etcd 3.4: `nimmer bench cluster`).
# Idempotent: does nothing when they are already present.
set -euo pipefail
bench=0
for arg in "$@"; do
  case "$arg" in
    --bench) bench=1 ;;
    *) echo "usage: bash infra/setup.sh [--bench]" >&2; exit 2 ;;
  esac
done
missing=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
if [ "$bench" -eq 1 ]; then
  command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ] || missing+=(etcd-server)
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: nats-server and postgresql are present$([ "$bench" -eq 1 ] && echo ', and etcd')"
  exit 0
fi
echo "setup: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  apt-get update -y && DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
elif command -v sudo >/dev/null 2>&1; then
  sudo apt-get update -y && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
else
  echo "setup: cannot install ${missing[*]}: run as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
