#!/usr/bin/env bash
# Entry point of the npm scripts: makes sure Node 24, the dependencies, the Prisma client and (for
# start) the Next.js build are there and current, then runs the command.
#   run.sh start          build if needed, then serve (scripts/serve.ts)
#   run.sh test [args]    vitest run [args]
#   run.sh build          next build
#   run.sh <cmd> [args]   any command with node_modules/.bin on PATH (e.g. tsx scripts/migrate.ts)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-node.sh

# Prisma's native schema engine is never used (migrations are the project's own, and generate does not
# need it), and it cannot be downloaded here: pointing the variable at any existing file satisfies the CLI
# and, set before the install, stops @prisma/engines' postinstall from trying the download at all.
export PRISMA_SCHEMA_ENGINE_BINARY="${PRISMA_SCHEMA_ENGINE_BINARY:-$PWD/package.json}"

# Dependencies: install when missing or when the lockfile changed since the last install — time-limited and
# tried again (_sot_retry, scripts/ensure-node.sh); each try of npm ci starts from scratch. --prefer-offline
# takes what npm's cache already holds without asking the registry.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing dependencies (npm ci)…" >&2
  started=$(date +%s)
  _sot_retry 600 "npm ci" npm ci --prefer-offline --loglevel=error --no-fund --no-audit >&2 ||
    { echo "npm ci failed three times: see the errors above" >&2; exit 1; }
  echo "Dependencies installed in $(( $(date +%s) - started )) s" >&2
fi
export PATH="$PWD/node_modules/.bin:$PATH"

if [ ! -f lib/db/generated/client.ts ] || [ prisma/schema.prisma -nt lib/db/generated/client.ts ]; then
  prisma generate >/dev/null
fi

# The stamp records when the last successful build STARTED: a source edited during a build is newer
# than it, so the next run rebuilds.
STAMP=.next/.sot-build-started
needs_build() {
  [ ! -f .next/BUILD_ID ] || [ ! -f "$STAMP" ] && return 0
  [ -n "$(find app components lib public next.config.ts postcss.config.mjs package-lock.json -newer "$STAMP" -print -quit 2>/dev/null)" ]
}
build() {
  # One build at a time in this folder (tests and developers share .next/).
  exec 9>".next-build.lock"
  flock 9
  if needs_build; then
    echo "Building the app (next build)…" >&2
    local started
    started=$(mktemp)
    NEXT_TELEMETRY_DISABLED=1 next build >&2
    touch -r "$started" "$STAMP"
    rm -f "$started"
  fi
  flock -u 9
}

cmd="${1:-}"
shift || true
case "$cmd" in
  start)
    build
    exec tsx scripts/serve.ts "$@"
    ;;
  build)
    build
    ;;
  test)
    # Database and browser tests want PostgreSQL + pgvector: use the local server when it answers and
    # has pgvector (CI sets TEST_DATABASE_URL itself). Without one, database tests run on PGlite.
    if [ -z "${TEST_DATABASE_URL:-}" ] && command -v psql >/dev/null &&
      [ "$(psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'" 2>/dev/null)" = "1" ]; then
      export TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:5432/postgres"
    fi
    # Browser tests run the built app: build once up front (when stale) rather than inside a test hook.
    if [ $# -eq 0 ] || printf '%s\n' "$@" | grep -q e2e; then build; fi
    exec vitest run "$@"
    ;;
  "")
    echo "usage: scripts/run.sh start|test|build|<command> [args]" >&2
    exit 2
    ;;
  *)
    exec "$cmd" "$@"
    ;;
esac
