/**
 * Regenerate the demo agent binaries committed under fixtures/demo/ (see fixtures/demo/README.md).
 *
 *   node scripts/make-demo-binary.ts            write fixtures/demo/aiwatch-arm64 and aiwatch-x86_64
 *   node scripts/make-demo-binary.ts --check    exit 1 if the committed files differ from what the generator makes
 *   node scripts/make-demo-binary.ts --out DIR  write into DIR instead
 *
 * Deterministic: no clock, no randomness (the DEMO signing key is derived from a published seed). The outputs are
 * NOT Apple-signed; see scripts/demo-binary/demo-cms.ts.
 */
import { readFileSync, mkdirSync, writeFileSync, renameSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error TS5097: node runs this script directly (type stripping), so the import names the .ts file.
import { demoFixtures } from './demo-binary/build.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function main(argv: string[]): number {
  const check = argv.includes('--check');
  const outIndex = argv.indexOf('--out');
  const out = outIndex >= 0 ? path.resolve(argv[outIndex + 1] ?? '') : path.join(root, 'fixtures', 'demo');
  const fixtures: Map<string, Buffer> = demoFixtures();
  let drift = 0;
  for (const [name, bytes] of fixtures) {
    const target = path.join(out, name);
    if (check) {
      let current: Buffer | undefined;
      try {
        current = readFileSync(target);
      } catch {
        current = undefined;
      }
      if (!current || !current.equals(bytes)) {
        process.stderr.write(`${target}: differs from the generator's output (run node scripts/make-demo-binary.ts)\n`);
        drift++;
      }
      continue;
    }
    mkdirSync(out, { recursive: true });
    const tmp = `${target}.partial-${process.pid}`;
    writeFileSync(tmp, bytes, { mode: 0o755 });
    chmodSync(tmp, 0o755);
    renameSync(tmp, target);
    process.stdout.write(`wrote ${path.relative(process.cwd(), target)} (${bytes.length} bytes)\n`);
  }
  return drift ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
