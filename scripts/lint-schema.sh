#!/usr/bin/env bash
# Lints the public API schema (the supergraph as clients see it: no join__ types, no
# federation directives) with graphql-schema-linter, pinned by services/gateway/lint's
# package-lock.json. Rules: every type, field, argument, input field and enum value has a
# description, and connections follow the Relay connection spec. Run by `make schema-check`.
#
# Usage: scripts/lint-schema.sh [--schema-dir DIR] [--subgraphs FILE]   (passed to compose.mjs)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lint_dir="$repo_root/services/gateway/lint"

if [ ! -x "$lint_dir/node_modules/.bin/graphql-schema-linter" ]; then
  echo "lint-schema: installing the linter (npm ci)" >&2
  (cd "$lint_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$repo_root/scripts/compose-supergraph.sh" "$@" \
  --out "$work/supergraph.graphql" --api-out "$work/api.graphql" >/dev/null

# Fields that return one ranked page or a small bounded set, not a pageable list: they keep
# their connection type (edges, cursors) but take no `after`. Each one is named here on
# purpose; a new connection field without `first`/`after` fails the lint.
relay_exceptions='{"relay-connection-arguments-spec": [
  "Query.matchCandidates",
  "Query.suggestCandidates",
  "Volunteer.teams"
]}'

rules=types-have-descriptions,fields-have-descriptions,arguments-have-descriptions
rules+=,input-object-values-have-descriptions,enum-values-have-descriptions
rules+=,relay-connection-types-spec,relay-connection-arguments-spec,relay-page-info-spec

if ! "$lint_dir/node_modules/.bin/graphql-schema-linter" --rules "$rules" \
  --ignore "$relay_exceptions" --format compact "$work/api.graphql" >"$work/report" 2>&1; then
  # Report positions in the API schema, with the offending line, so the fix is easy to find.
  sed "s|$work/api.graphql|api.graphql|" "$work/report" >&2
  echo "lint-schema: the public API schema breaks the rules above; add the missing" \
    "descriptions (doc comments, #[graphql(desc = ...)]) and run make schema" >&2
  exit 1
fi
echo "lint-schema: the public API schema passes ($rules)"
