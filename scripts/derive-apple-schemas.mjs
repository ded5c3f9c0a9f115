#!/usr/bin/env node
// Regenerates data/apple-device-management/payload-schemas.json (what `verify` checks profiles against) from a
// checkout of https://github.com/apple/device-management, and copies Apple's LICENSE.txt beside it:
//
//   git clone --depth 1 --branch release https://github.com/apple/device-management /tmp/apple-dm
//   npm run build && node scripts/derive-apple-schemas.mjs /tmp/apple-dm
//
// then update data/apple-device-management/SOURCE.txt (commit and release) by hand. The derivation itself is
// src/profiles/apple-schema-data.ts (run from dist/, so `$AIWATCH_APPLE_DM_DIR` at run time derives alike).
// Output: deterministic (sorted, one schema per line), written to a temporary file then renamed.
// Exit: 0 written, 2 usage, 3 the folder is no checkout or holds a bad YAML file, 4 dist/ is not built.
import { copyFileSync, existsSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = 'usage: node scripts/derive-apple-schemas.mjs <apple/device-management checkout> [--out <file>]\n' +
  `  --out  default ${path.join('data', 'apple-device-management', 'payload-schemas.json')}; LICENSE.txt is copied beside it\n`;

function parseArgs(argv) {
  const rest = [...argv];
  let out = path.join(ROOT, 'data', 'apple-device-management', 'payload-schemas.json');
  const positional = [];
  while (rest.length > 0) {
    const a = rest.shift();
    if (a === '--out') {
      if (rest.length === 0 || rest[0] === '') return undefined;
      out = path.resolve(rest.shift());
    } else if (a.startsWith('-')) return undefined;
    else positional.push(a);
  }
  return positional.length === 1 ? { dir: path.resolve(positional[0]), out } : undefined;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!args) {
    process.stderr.write(USAGE);
    return 2;
  }
  const module = path.join(ROOT, 'dist', 'profiles', 'apple-schema-data.js');
  if (!existsSync(module)) {
    process.stderr.write(`${module} is missing: run npm run build first\n`);
    return 4;
  }
  const { deriveAppleCheckout, serializeAppleData } = await import(pathToFileURL(module).href);
  let schemas;
  try {
    schemas = deriveAppleCheckout(args.dir, 'the folder');
  } catch (e) {
    if (e?.exitCode !== 3) throw e;
    process.stderr.write(`${e.message}\n`);
    return 3;
  }
  const license = path.join(args.dir, 'LICENSE.txt');
  if (!existsSync(license)) {
    process.stderr.write(`${license} is missing: Apple's notice must travel with the data\n`);
    return 3;
  }
  const text = serializeAppleData(schemas);
  const tmp = `${args.out}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, args.out);
  copyFileSync(license, path.join(path.dirname(args.out), 'LICENSE.txt'));
  process.stdout.write(`wrote ${args.out}: ${schemas.length} schemas, ${Buffer.byteLength(text)} bytes\n`);
  return 0;
}

process.exitCode = await main();
