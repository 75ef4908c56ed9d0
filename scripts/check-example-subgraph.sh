#!/usr/bin/env bash
# Composes the worked example of services/gateway/ADDING-A-SUBGRAPH.md (another
# department's subgraph, tests/example-subgraph/) with our subgraphs, as the department
# would before asking to join, and lints the resulting public API with our rules. Writes
# nothing under schema/. Run by `make schema-check`.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
example="$repo_root/tests/example-subgraph"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$repo_root"/schema/*.graphql "$work/"
rm -f "$work/supergraph.graphql"
cp "$example/civil-affairs.graphql" "$work/civil-affairs.graphql"
# Our list plus the newcomer: exactly what step 2 of the walk-through asks for.
node -e '
  const fs = require("node:fs");
  const list = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  list["civil-affairs"] = "http://127.0.0.1:8090/graphql";
  fs.writeFileSync(process.argv[2], JSON.stringify(list, null, 2));
' "$repo_root/services/gateway/subgraphs.json" "$work/subgraphs.json"

"$repo_root/scripts/lint-schema.sh" --schema-dir "$work" --subgraphs "$work/subgraphs.json"
echo "check-example-subgraph: tests/example-subgraph composes with our subgraphs and passes the lint"
