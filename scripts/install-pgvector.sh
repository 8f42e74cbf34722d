#!/usr/bin/env bash
# Builds and installs pgvector for the local PostgreSQL when the extension is missing.
# Debian bookworm has no pgvector package; trixie's source package (0.8.x) builds against
# bookworm's postgresql-server-dev-<major>. Idempotent: does nothing when vector.control exists.
set -euo pipefail
PG_MAJOR="${PG_MAJOR:-$(pg_config --version 2>/dev/null | sed -E 's/[^0-9]*([0-9]+).*/\1/' || true)}"
if [ -z "$PG_MAJOR" ]; then
  PG_MAJOR=$(ls /usr/lib/postgresql | sort -n | tail -1)
fi
if [ -f "/usr/share/postgresql/$PG_MAJOR/extension/vector.control" ]; then
  echo "pgvector already installed for PostgreSQL $PG_MAJOR"
  exit 0
fi
echo "building pgvector for PostgreSQL $PG_MAJOR"
export DEBIAN_FRONTEND=noninteractive
SRC_LIST=/etc/apt/sources.list.d/trixie-src.sources
if [ ! -f "$SRC_LIST" ]; then
  cat > "$SRC_LIST" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
apt-get update -qq
apt-get install -y -qq "postgresql-server-dev-$PG_MAJOR" build-essential dpkg-dev >/dev/null
WORK=$(mktemp -d)
cd "$WORK"
apt-get source -qq --download-only pgvector
dpkg-source -x pgvector_*.dsc src >/dev/null
cd src
make -s PG_CONFIG="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config" OPTFLAGS=""
make -s install PG_CONFIG="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config"
cd / && rm -rf "$WORK"
echo "pgvector installed for PostgreSQL $PG_MAJOR"
