/**
 * Bench (not a test): `aiwatch-deploy tenants` at MSP scale — a CSV of 10,000 tenants written in two formats
 * (mobileconfig + intune-plist, 20,000 files), issue 14 item 3: target ≤ 10 s wall and ≤ 200 MiB peak RSS.
 *
 * It writes a deterministic CSV (every column, secrets of realistic length, names with accents and spaces), then
 * runs the real CLI in a child process under /usr/bin/time (wall measured here, CPU seconds and peak RSS from time),
 * --runs times, into a fresh output folder on the same disk each time, and prints the medians, the largest RSS and
 * the target verdicts as a Markdown table for docs/benchmarks.md.
 *
 *   node scripts/bench-tenants.mjs                        # 10,000 rows, 3 runs (needs dist/: npm run build)
 *   node scripts/bench-tenants.mjs --rows 2000 --runs 5   # options: --rows, --runs, --dir, --keep
 *   node --cpu-prof --cpu-prof-dir=prof bin/aiwatch-deploy.js tenants --csv … # to see where the time goes
 *
 * `npm run bench` runs it after the build bench (one line at the end of scripts/bench.mjs).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TARGET = { seconds: 10, rssMiB: 200 };
const FORMATS = ['mobileconfig', 'intune-plist'];

function options(argv) {
  const at = (flag, dflt) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  return {
    rows: Number(at('--rows', '10000')),
    runs: Number(at('--runs', '3')),
    keep: argv.includes('--keep'),
    dir: path.resolve(at('--dir', path.join(os.tmpdir(), 'aiwatch-bench'))),
  };
}

/** A deterministic tenants CSV of `n` rows, every column filled (a quoted name with a comma every 7th row). */
function csvText(n) {
  const lines = ['name,host,org_api_key,enrollment_key,username,device_name,enforcement,sessions'];
  for (let i = 1; i <= n; i++) {
    const hex = (seed) => Buffer.from(`${seed}-${i}`).toString('hex').padEnd(40, '0').slice(0, 40);
    const name = i % 7 === 0 ? `"Tenant ${i}, Müller GmbH"` : `tenant-${String(i).padStart(5, '0')}`;
    lines.push([name, `https://t${i}.runlayer.com`, `rl_org_${hex('org')}`, `rl_enroll_${hex('enroll')}`, `admin${i}@example.com`, `mac-${i}`, i % 2 ? 'true' : 'false', 'true'].join(','));
  }
  return `${lines.join('\n')}\n`;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One run of the CLI under /usr/bin/time: wall seconds, CPU seconds, peak RSS MiB, files written. */
function runOnce(dir, csv) {
  const out = path.join(dir, 'tenants-out');
  rmSync(out, { recursive: true, force: true });
  const report = path.join(dir, 'tenants-time.txt');
  const args = ['-o', report, '-f', '%U %S %M', process.execPath, 'bin/aiwatch-deploy.js', 'tenants', '--csv', csv, '--out', out, ...FORMATS.flatMap((f) => ['--format', f])];
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`tenants exited ${r.status}: ${(r.stderr || '').slice(-2000)}`);
  const [user, sys, kb] = readFileSync(report, 'utf8').trim().split('\n').at(-1).split(/\s+/).map(Number);
  const folders = readdirSync(out);
  const files = folders.reduce((n, f) => n + readdirSync(path.join(out, f)).length, 0);
  return { wall, cpu: user + sys, rssMiB: kb / 1024, folders: folders.length, files };
}

export async function benchTenants(argv = process.argv.slice(2)) {
  const o = options(argv);
  if (!existsSync('/usr/bin/time')) throw new Error('/usr/bin/time is needed (Debian: apt-get install time)');
  if (!existsSync(path.join(root, 'dist/cli/main.js'))) throw new Error('dist/ is missing: run npm run build first');
  mkdirSync(o.dir, { recursive: true });
  const csv = path.join(o.dir, `tenants-${o.rows}.csv`);
  writeFileSync(csv, csvText(o.rows));
  const runs = [];
  try {
    for (let i = 0; i < o.runs; i++) runs.push({ ...runOnce(o.dir, csv), load: os.loadavg()[0] });
  } finally {
    if (!o.keep) for (const f of ['tenants-out', 'tenants-time.txt', path.basename(csv)]) rmSync(path.join(o.dir, f), { recursive: true, force: true });
  }
  const wall = median(runs.map((r) => r.wall));
  const cpu = median(runs.map((r) => r.cpu));
  const rss = Math.max(...runs.map((r) => r.rssMiB));
  const verdict = (ok) => (ok ? 'met' : 'NOT met');
  const lines = [
    `Tenants at scale (node scripts/bench-tenants.mjs ${argv.join(' ')}`.trim() + `): ${o.rows} CSV rows × ${FORMATS.length} formats (${FORMATS.join(', ')}), ` +
      `${runs[0].folders} folders and ${runs[0].files} files per run; medians of ${o.runs} runs, wall with process start, peak RSS the largest (/usr/bin/time); ` +
      `load average at end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}.`,
    '',
    '| rows × formats | wall (s) | CPU (s) | peak RSS (MiB) | target wall ≤ 10 s | target RSS ≤ 200 MiB |',
    '|---|---|---|---|---|---|',
    `| ${o.rows} × ${FORMATS.length} | ${wall.toFixed(2)} | ${cpu.toFixed(2)} | ${rss.toFixed(0)} | ${verdict(wall <= TARGET.seconds)} | ${verdict(rss <= TARGET.rssMiB)} |`,
    '',
    `Every run (wall s / CPU s / RSS MiB / 1-min load): ${runs.map((r) => `${r.wall.toFixed(2)}/${r.cpu.toFixed(2)}/${r.rssMiB.toFixed(0)}/${r.load.toFixed(1)}`).join(', ')}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return { wall, cpu, rss };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await benchTenants();
