#!/usr/bin/env bash
# npm run images: builds the container images locally, with no registry, FROM scratch:
#   mezzo/nats   - this machine's nats-server and the libraries ldd lists
#   mezzo/mezzo  - node, the built project and its production dependencies; one image runs
#                  `mezzo master`, `mezzo agent` or any other command. Command tasks need a shell,
#                  so it also carries dash (as /bin/sh) and a few basic tools with their libraries.
# Starts dockerd in the background when none answers (root only) and leaves it running.
set -euo pipefail
cd "$(dirname "$0")/../.."
say() { echo "mezzo images: $*" >&2; }

if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then say "no Docker engine answers and I am not root to start dockerd"; exit 1; fi
  command -v dockerd >/dev/null || { say "dockerd is not installed (Debian: apt-get install -y docker.io)"; exit 1; }
  say "starting dockerd (log: /var/log/mezzo-dockerd.log)"
  nohup dockerd >/var/log/mezzo-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { say "dockerd did not come up; see /var/log/mezzo-dockerd.log"; exit 1; }
fi

version=$(node -p 'require("./package.json").version')
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

# with_libs ROOT BINARY [AS]: copies a binary (to AS, default its own path) and every library it loads.
with_libs() {
  local root=$1 bin=$2 as=${3:-$2}
  mkdir -p "$root$(dirname "$as")"
  cp -L "$bin" "$root$as"
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -Ln "$lib" "$root$lib" 2>/dev/null || true
  done
}

# --- nats -----------------------------------------------------------------------------------
nats=$(command -v nats-server)
with_libs "$ctx/nats/rootfs" "$nats" /usr/sbin/nats-server
cat > "$ctx/nats/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
EXPOSE 4222 6222 8222
ENTRYPOINT ["/usr/sbin/nats-server"]
DOCKERFILE
docker build -q -t "mezzo/nats:$version" -t mezzo/nats:latest "$ctx/nats" >/dev/null
say "built mezzo/nats:$version"

# --- mezzo ----------------------------------------------------------------------------------
app="$ctx/mezzo/rootfs/app"
mkdir -p "$app" "$ctx/mezzo/rootfs/tmp" "$ctx/mezzo/rootfs/data"
# Its own build, so that a dist/ in use (by a running cluster or tests) is never rewritten.
# tsc still emits on type errors (another change in progress): build from what it emitted, as the
# tests' global setup does; `npm run build` is where type errors fail.
node node_modules/typescript/bin/tsc -p tsconfig.build.json --outDir "$app/dist" >&2 ||
  { [ -f "$app/dist/cli/main.js" ] && say "tsc reported type errors; building from what it emitted"; } ||
  { say "tsc emitted nothing"; exit 1; }
cp package.json package-lock.json "$app/"
(cd "$app" && npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
with_libs "$ctx/mezzo/rootfs" "$(command -v node)" /usr/bin/node
with_libs "$ctx/mezzo/rootfs" "$(readlink -f /bin/sh)" /bin/sh
for tool in sleep cat env ls true false echo id head tail; do
  with_libs "$ctx/mezzo/rootfs" "$(type -P "$tool")" "/usr/bin/$tool"
done
cat > "$ctx/mezzo/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/bin:/bin MEZZO_DATA=/data MEZZO_LOG_LEVEL=info
WORKDIR /app
ENTRYPOINT ["/usr/bin/node", "/app/dist/cli/main.js"]
DOCKERFILE
docker build -q -t "mezzo/mezzo:$version" -t mezzo/mezzo:latest "$ctx/mezzo" >/dev/null
say "built mezzo/mezzo:$version"
