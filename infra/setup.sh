#!/usr/bin/env bash
# Installs the system binaries nimmer starts as real processes (nats-server, PostgreSQL).
# Idempotent: does nothing when they are already present.
set -euo pipefail
missing=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: nats-server and postgresql are present"
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
