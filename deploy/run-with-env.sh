#!/usr/bin/env bash
# Starts one Project SOT process with the settings file loaded: used by the launchd and systemd units.
#   deploy/run-with-env.sh start                    the web app (builds first if needed)
#   deploy/run-with-env.sh tsx workers/ingest.ts    a worker
# Settings: SOT_ENV_FILE (default: .env in the app folder), mode 0600, owned by the service user.
set -euo pipefail
cd "$(dirname "$0")/.."
env_file="${SOT_ENV_FILE:-$PWD/.env}"
if [ -f "$env_file" ]; then
  set -a
  # shellcheck disable=SC1090
  . "$env_file"
  set +a
fi
export NODE_ENV=production
# Homebrew's binaries (openssl, pg_dump for diagnostics) on Apple silicon and Intel.
export PATH="/opt/homebrew/bin:/usr/local/bin:$PATH"
exec bash scripts/run.sh "$@"
