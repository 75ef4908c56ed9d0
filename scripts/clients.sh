#!/usr/bin/env bash
# Trusted documents: validates clients/<frontend>/*.graphql against the public API of
# schema/supergraph.graphql (graphql-js `validate`) and compiles them into
# clients/persisted-documents.json, the manifest Hive Router serves in persisted-only mode.
# `--check` writes nothing and fails when a document is invalid or the manifest is stale (CI).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
compose_dir="$repo_root/services/gateway/compose"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "clients: node and npm are required (Node >= 18)" >&2
  exit 2
fi

# The same pinned graphql and composition packages as the supergraph (package-lock.json).
if [ ! -d "$compose_dir/node_modules/@theguild/federation-composition" ] \
  || [ ! -d "$compose_dir/node_modules/graphql" ]; then
  echo "clients: installing the pinned graphql tools (npm ci)" >&2
  (cd "$compose_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
fi

exec node "$compose_dir/clients.mjs" "$@"
