#!/usr/bin/env bash
# npm start: install what is missing, build, then become `mezzo up` (exec), so that the signals npm
# forwards (SIGTERM, SIGINT) reach it directly and it can stop everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prereqs.sh
npm run --silent build
exec node dist/cli/main.js up --exit-with-parent "$@"
