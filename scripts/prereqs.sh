#!/usr/bin/env bash
# Installs what Mezzo needs on a fresh machine, and nothing that is already there:
#   - npm dependencies (npm ci) when node_modules is missing or older than package-lock.json;
#   - nats-server (required) and docker.io (for container tasks and the multi-host suite) from apt,
#     when running as root on Debian/Ubuntu; elsewhere it says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "mezzo prereqs: $*" >&2; }

missing=()
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)

if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} from apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${missing[@]}" >&2 || say "apt-get install ${missing[*]} failed"
  else
    say "missing: ${missing[*]}. Install them (Debian/Ubuntu: sudo apt-get install -y ${missing[*]}; macOS: brew install nats-server docker) and run again."
  fi
fi

if ! command -v nats-server >/dev/null 2>&1; then
  say "nats-server is required and could not be installed; see the message above."
  exit 1
fi

if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  # npm install rather than npm ci: npm 11 writes lock files without other platforms' optional
  # packages (biome, msgpackr-extract) and then npm ci refuses them (npm/cli#4828).
  npm install --no-audit --no-fund >&2
fi
