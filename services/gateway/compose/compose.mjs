#!/usr/bin/env node
// Composes the federated supergraph that Hive Router loads.
//
// Reads services/gateway/subgraphs.json (subgraph name -> default URL), then
// <schema-dir>/<name>.graphql for every listed subgraph, composes them with
// @theguild/federation-composition and writes <schema-dir>/supergraph.graphql.
//
// The output depends only on the inputs (subgraphs are sorted by name), so a
// rerun on unchanged inputs is byte-identical.
//
// Usage: node compose.mjs [--schema-dir DIR] [--subgraphs FILE] [--out FILE] [--check]
//                         [--api-out FILE]
//   --schema-dir DIR  where <name>.graphql live (default: <repo>/schema)
//   --subgraphs FILE  the name -> URL list (default: <repo>/services/gateway/subgraphs.json)
//   --out FILE        where to write the supergraph (default: <schema-dir>/supergraph.graphql)
//   --check           write nothing; exit 1 when FILE differs from the composition
//   --api-out FILE    also write the public API schema (what clients see: no federation
//                     directives, no join__ types) to FILE; scripts/lint-schema.sh lints it
//
// Exit codes: 0 ok, 1 composition failed or --check found drift, 2 bad input/usage.

import { readFileSync, writeFileSync, existsSync, mkdirSync, renameSync } from "node:fs";
import { dirname, join, resolve, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "graphql";
import { composeServices } from "@theguild/federation-composition";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "..", "..", "..");

function usage(message) {
  if (message) console.error(`compose: ${message}`);
  console.error(
    "usage: compose.mjs [--schema-dir DIR] [--subgraphs FILE] [--out FILE] [--check] [--api-out FILE]",
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    schemaDir: join(repoRoot, "schema"),
    subgraphs: join(repoRoot, "services", "gateway", "subgraphs.json"),
    out: undefined,
    apiOut: undefined,
    check: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) usage(`${arg} needs a value`);
      return resolve(v);
    };
    switch (arg) {
      case "--schema-dir":
        opts.schemaDir = value();
        break;
      case "--subgraphs":
        opts.subgraphs = value();
        break;
      case "--out":
        opts.out = value();
        break;
      case "--api-out":
        opts.apiOut = value();
        break;
      case "--check":
        opts.check = true;
        break;
      case "-h":
      case "--help":
        usage();
        break;
      default:
        usage(`unknown argument ${arg}`);
    }
  }
  opts.out ??= join(opts.schemaDir, "supergraph.graphql");
  return opts;
}

function fail(message, code = 2) {
  console.error(`compose: ${message}`);
  process.exit(code);
}

function display(path) {
  const rel = relative(process.cwd(), path);
  return rel.startsWith("..") ? path : rel || ".";
}

// Subgraph names become join__Graph values and router config keys: keep them simple.
const NAME = /^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$/;

function readSubgraphList(path) {
  let list;
  try {
    list = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    fail(`cannot read subgraph list ${display(path)}: ${err.message}`);
  }
  if (list === null || typeof list !== "object" || Array.isArray(list)) {
    fail(`${display(path)} must be a JSON object {"<subgraph name>": "<default url>"}`);
  }
  const entries = Object.entries(list).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) fail(`${display(path)} lists no subgraph`);
  for (const [name, url] of entries) {
    if (!NAME.test(name)) fail(`invalid subgraph name ${JSON.stringify(name)} in ${display(path)}`);
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      fail(`subgraph ${name}: invalid URL ${JSON.stringify(url)} in ${display(path)}`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      fail(`subgraph ${name}: URL must be http(s), got ${JSON.stringify(url)}`);
    }
  }
  return entries;
}

function loadService(schemaDir, name, url) {
  const file = join(schemaDir, `${name}.graphql`);
  if (!existsSync(file)) {
    fail(`subgraph ${name}: SDL file ${display(file)} not found (export it first)`);
  }
  const sdl = readFileSync(file, "utf8");
  try {
    return { name, url, typeDefs: parse(sdl, { noLocation: false }) };
  } catch (err) {
    fail(`subgraph ${name}: ${display(file)} does not parse: ${err.message}`, 1);
  }
}

function formatError(err) {
  const code = err.extensions?.code ? `[${err.extensions.code}] ` : "";
  return `  - ${code}${err.message}`;
}

const opts = parseArgs(process.argv.slice(2));
const services = readSubgraphList(opts.subgraphs).map(([name, url]) =>
  loadService(opts.schemaDir, name, url),
);

const result = composeServices(services);
if (result.errors && result.errors.length > 0) {
  console.error(
    `compose: composition of ${services.map((s) => s.name).join(", ")} failed with ${result.errors.length} error(s):`,
  );
  for (const err of result.errors) console.error(formatError(err));
  process.exit(1);
}
if (typeof result.supergraphSdl !== "string" || result.supergraphSdl.length === 0) {
  fail("composition returned no supergraph SDL", 1);
}

if (opts.apiOut) {
  mkdirSync(dirname(opts.apiOut), { recursive: true });
  writeFileSync(opts.apiOut, result.publicSdl.endsWith("\n") ? result.publicSdl : `${result.publicSdl}\n`);
}

const output = result.supergraphSdl.endsWith("\n")
  ? result.supergraphSdl
  : `${result.supergraphSdl}\n`;

if (opts.check) {
  const current = existsSync(opts.out) ? readFileSync(opts.out, "utf8") : null;
  if (current !== output) {
    console.error(
      `compose: ${display(opts.out)} is out of date; run scripts/compose-supergraph.sh and commit the result`,
    );
    process.exit(1);
  }
  console.log(`compose: ${display(opts.out)} is up to date (${services.length} subgraph(s))`);
  process.exit(0);
}

mkdirSync(dirname(opts.out), { recursive: true });
const current = existsSync(opts.out) ? readFileSync(opts.out, "utf8") : null;
if (current === output) {
  console.log(`compose: ${display(opts.out)} unchanged (${services.length} subgraph(s))`);
} else {
  // Write to a sibling temp file first so a reader never sees a half-written supergraph.
  const tmp = `${opts.out}.tmp-${process.pid}`;
  writeFileSync(tmp, output);
  renameSync(tmp, opts.out);
  console.log(`compose: wrote ${display(opts.out)} (${services.length} subgraph(s))`);
}
