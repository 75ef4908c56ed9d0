#!/usr/bin/env bash
# Composes schema/supergraph.graphql from schema/<name>.graphql for every subgraph
# listed in services/gateway/subgraphs.json (see services/gateway/README.md).
# Callable from anywhere; extra arguments go to compose.mjs
# (--check, --out FILE, --schema-dir DIR, --subgraphs FILE).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
compose_dir="$repo_root/services/gateway/compose"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "compose-supergraph: node and npm are required (Node >= 18)" >&2
  exit 2
fi

# Install the pinned composition library once (package-lock.json is authoritative).
if [ ! -d "$compose_dir/node_modules/@theguild/federation-composition" ] \
  || [ ! -d "$compose_dir/node_modules/graphql" ]; then
  echo "compose-supergraph: installing composition dependencies (npm ci)" >&2
  (cd "$compose_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
fi

exec node "$compose_dir/compose.mjs" "$@"
