#!/usr/bin/env node
// Trusted documents: validates the frontends' operations (clients/<frontend>/*.graphql)
// against the public API of schema/supergraph.graphql with graphql-js `validate` (the
// reference implementation's rules), then compiles them into the persisted-document
// manifest Hive Router loads (clients/persisted-documents.json: {"<sha256>": "<document>"},
// the router's key-value file format).
//
// A document's id is the SHA-256 of its text as written in the manifest: a frontend's build
// sends {"documentId": "<sha256>"} (or extensions.persistedQuery.sha256Hash) instead of the
// query. Each .graphql file holds one operation (fragments it uses may sit beside it).
//
// Usage: node clients.mjs [--check]
//   --check  write nothing; exit 1 when a document is invalid or the manifest is stale (CI)
// Exit codes: 0 ok, 1 invalid document or stale manifest, 2 bad input.

import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildASTSchema, Kind, parse, print, validate } from "graphql";
import { transformSupergraphToPublicSchema } from "@theguild/federation-composition";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "..", "..", "..");
const clientsDir = join(repoRoot, "clients");
const manifestPath = join(clientsDir, "persisted-documents.json");
const check = process.argv.includes("--check");

function fail(message, code = 1) {
  console.error(`clients: ${message}`);
  process.exit(code);
}

const supergraph = readFileSync(join(repoRoot, "schema", "supergraph.graphql"), "utf8");
const schema = buildASTSchema(transformSupergraphToPublicSchema(parse(supergraph)), {
  assumeValidSDL: false,
});

const frontends = readdirSync(clientsDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== "node_modules")
  .map((entry) => entry.name)
  .sort();
if (frontends.length === 0) fail(`no frontend folder under ${clientsDir}`, 2);

const manifest = {};
const problems = [];
let count = 0;
for (const frontend of frontends) {
  const dir = join(clientsDir, frontend);
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".graphql")).sort()) {
    const path = join(dir, file);
    const where = relative(repoRoot, path);
    let document;
    try {
      document = parse(readFileSync(path, "utf8"));
    } catch (err) {
      problems.push(`${where}: ${err.message}`);
      continue;
    }
    const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    if (operations.length !== 1 || !operations[0].name) {
      problems.push(`${where}: must hold exactly one named operation`);
      continue;
    }
    for (const error of validate(schema, document)) {
      problems.push(`${where}: ${error.message}`);
    }
    // The printed form: whitespace and comments in the source do not change the id.
    const body = print(document);
    const id = createHash("sha256").update(body).digest("hex");
    manifest[id] = body;
    count += 1;
  }
}
if (problems.length > 0) {
  console.error(`clients: ${problems.length} problem(s) against schema/supergraph.graphql:`);
  for (const problem of problems) console.error(`  - ${problem}`);
  process.exit(1);
}

const sorted = Object.fromEntries(Object.entries(manifest).sort(([a], [b]) => (a < b ? -1 : 1)));
const output = `${JSON.stringify(sorted, null, 2)}\n`;
const current = existsSync(manifestPath) ? readFileSync(manifestPath, "utf8") : null;
if (check) {
  if (current !== output) {
    fail("clients/persisted-documents.json is out of date; run scripts/clients.sh and commit it");
  }
  console.log(`clients: ${count} document(s) valid, manifest up to date`);
} else if (current === output) {
  console.log(`clients: ${count} document(s) valid, manifest unchanged`);
} else {
  const tmp = `${manifestPath}.tmp-${process.pid}`;
  writeFileSync(tmp, output);
  renameSync(tmp, manifestPath);
  console.log(`clients: ${count} document(s) valid, wrote clients/persisted-documents.json`);
}
