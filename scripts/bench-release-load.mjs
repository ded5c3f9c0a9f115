/**
 * Bench (not a test): what `plan` / `apply` pay before the first request to read a release zip (src/rollout/release.ts
 * loadRelease: `verify` of the zip, one SHA-256/512/MD5 pass over the pkg, the pkg's TOC and signature), then one full
 * stream of the pkg as an upload reads it — against `verify` of the same zip. Each in its own child process
 * (dist/, the CLI's V8 flags), --runs times; prints medians of wall and CPU seconds and the largest peak RSS.
 *
 *   npm run build && node scripts/bench-release-load.mjs out/aiwatch-1.0.0-macos-universal.zip [--runs 3]
 *
 * A release with a large pkg: `node scripts/make-bench-binary.ts --size-mib 256 --out /tmp/bin256`, then
 * `aiwatch-deploy build --binary fixtures/demo/aiwatch-arm64 --binary-x86_64 /tmp/bin256 --arch universal
 * --version 1.0.0 --development-build --out /tmp/big` (an x86_64-only release is refused by verify: no arm64).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FLAGS = ['--max-semi-space-size=2'];

const child = {
  load: `const { loadRelease } = await import(${JSON.stringify(path.join(root, 'dist/rollout/release.js'))});
const { loadDefaultSpec } = await import(${JSON.stringify(path.join(root, 'dist/config/spec.js'))});
const r = await loadRelease(process.argv[1], { spec: loadDefaultSpec(), env: {} });
let n = 0;
for await (const c of r.pkg.read()) n += c.length;
if (n !== r.pkg.size) throw new Error('streamed ' + n + ' of ' + r.pkg.size);`,
  verify: `const { main } = await import(${JSON.stringify(path.join(root, 'dist/cli/main.js'))});
process.exitCode = await main(['verify', process.argv[1]], { stdout: () => {}, stderr: () => {} });`,
};

function once(kind, zip) {
  const script = `${child[kind]}
process.on('exit', () => { const u = process.resourceUsage(); process.stderr.write('USAGE ' + u.maxRSS + ' ' + (u.userCPUTime + u.systemCPUTime) / 1e6 + '\\n'); });`;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [...FLAGS, '--input-type=module', '-e', script, zip], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const m = /USAGE (\d+) ([\d.]+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`${kind} failed (exit ${r.status}):\n${r.stderr.slice(-2000)}`);
  return { ms, rssKiB: Number(m[1]), cpu: Number(m[2]) };
}

const args = process.argv.slice(2);
const zip = args.find((a) => !a.startsWith('--'));
const runs = Number(args[args.indexOf('--runs') + 1]) || 3;
if (!zip) {
  process.stderr.write('usage: node scripts/bench-release-load.mjs RELEASE.zip [--runs N]\n');
  process.exit(2);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = ['| step | wall (median) | CPU (median) | peak RSS (largest) |', '|---|---|---|---|'];
for (const kind of ['verify', 'load']) {
  const r = Array.from({ length: runs }, () => once(kind, path.resolve(zip)));
  const what = kind === 'load' ? 'loadRelease + one pkg stream' : 'verify';
  rows.push(`| ${what} | ${(median(r.map((x) => x.ms)) / 1000).toFixed(2)} s | ${median(r.map((x) => x.cpu)).toFixed(2)} s | ${(Math.max(...r.map((x) => x.rssKiB)) / 1024).toFixed(0)} MiB |`);
}
process.stdout.write(`${rows.join('\n')}\n`);
