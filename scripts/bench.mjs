/**
 * `npm run bench` (not a test): how fast and how lean is `aiwatch-deploy build` next to gzip and pigz?
 *
 * For each binary size (default 64 and 256 MiB) it makes a realistic agent binary (scripts/make-bench-binary.ts:
 * the host's shared libraries as the __TEXT of a signed x86_64 Mach-O), writes the cpio stream the build would
 * compress to a temporary file (dist/pkg/cpio.js over the same payload plan), and then, alternating, runs
 *   - `gzip -6 -c` of that cpio file,
 *   - `pigz -6 -p <cores> -c` of it,
 *   - the real build in a child process (`node bin/aiwatch-deploy.js build --binary … --arch x86_64`),
 * each writing to a file on the same disk. Reported: the median wall time of each, the ratios build/gzip and
 * build/pigz, and the build's peak RSS (from `/usr/bin/time -v`, else from process.resourceUsage() in the child).
 * Then what checking our own artifacts costs (issue 16 item 4, issue 14 item 2; with /usr/bin/time only): `verify`
 * and `inspect` of each size's release zip against `gzip -dc` of its Payload (wall and CPU ratios, peak RSS), and
 * `verify` and `inspect` of the Intune scripts and .intunewin that `intune --intunewin` writes — wall time and peak
 * RSS, no ratio (target ≤ 200 MiB each).
 *
 *   npm run bench                                  # build dist/, then both sizes, 3 runs each, then the other benches
 *   node scripts/bench.mjs --sizes 64 --runs 5      # options: --sizes, --runs, --dir, --keep (leave temp files)
 *   npm run bench -- --only build,tenants           # only these parts: build (with verify/inspect), tenants, doctor,
 *                                                  # upload, intune-upload
 *
 * The generated binaries stay in --dir (default <tmp>/aiwatch-bench) for the next run; everything else is removed.
 *
 * Needs dist/ (npm run build), gzip and pigz. Prints the machine facts and a Markdown table for docs/benchmarks.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Issue 14: build ≤ 1.0 × pigz wall and ≤ 0.8 × pigz CPU, ≤ 150 MiB; verify/inspect of a release zip ≤ 1.0 × `gzip -dc` of
// its Payload, ≤ 150 MiB. The Intune files keep issue 16's 200 MiB.
const TARGET = { gzip: 0.8, pigz: 1.0, pigzCpu: 0.8, rssMiB: 150, gunzip: 1.0, checkRssMiB: 200 };

function options(argv) {
  const at = (flag, dflt) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  return {
    sizes: String(at('--sizes', '64,256')).split(',').map(Number),
    runs: Number(at('--runs', '3')),
    keep: argv.includes('--keep'),
    dir: path.resolve(at('--dir', path.join(os.tmpdir(), 'aiwatch-bench'))),
  };
}

const has = (tool) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool]).status === 0;
const firstLine = (cmd, args) => (spawnSync(cmd, args, { encoding: 'utf8' }).stdout || spawnSync(cmd, args, { encoding: 'utf8' }).stderr || '').split('\n')[0].trim();

/** Run a command, stdout into `outFile` (or ignored); resolves {ms, stderr}. Rejects on a non-zero exit. */
function timed(cmd, args, outFile) {
  return new Promise((resolve, reject) => {
    const out = outFile ? createWriteStream(outFile) : undefined;
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', out ? 'pipe' : 'ignore', 'pipe'] });
    if (out) child.stdout.pipe(out);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', async (code) => {
      if (out) await finished(out);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}\n${stderr.slice(-2000)}`));
      else resolve({ ms, stderr });
    });
  });
}

async function makeBinary(dir, mib) {
  const file = path.join(dir, `aiwatch-${mib}m`);
  if (!existsSync(file)) {
    const r = spawnSync(process.execPath, [path.join(root, 'scripts/make-bench-binary.ts'), '--size-mib', String(mib), '--out', file], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('make-bench-binary failed');
  }
  return file;
}

/** The cpio stream the build compresses: the same payload plan (binary + launchd plists), written by dist/pkg/cpio.js. */
async function writeCpioFile(binary, file) {
  const { loadSpec } = await import(path.join(root, 'dist/config/spec.js'));
  const { installFiles } = await import(path.join(root, 'dist/release/package.js'));
  const { planPayload } = await import(path.join(root, 'dist/pkg/payload.js'));
  const { writeCpio } = await import(path.join(root, 'dist/pkg/cpio.js'));
  const spec = await loadSpec(undefined);
  const entries = await planPayload(installFiles(spec, binary), { mtime: 315532800, what: 'payload' });
  const out = createWriteStream(file);
  for await (const chunk of writeCpio(entries)) if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
  out.end();
  await finished(out);
  return statSync(file).size;
}

const useTime = existsSync('/usr/bin/time');

/**
 * Run `cmd args` (stdout into `outFile`): wall time measured here, and with /usr/bin/time also CPU seconds
 * (user + system) and peak RSS (KiB) of the command.
 */
async function measured(dir, cmd, args, outFile) {
  if (!useTime) return { ...(await timed(cmd, args, outFile)), cpu: NaN, rssKiB: NaN };
  const report = path.join(dir, 'time.txt');
  const r = await timed('/usr/bin/time', ['-o', report, '-f', '%U %S %M', cmd, ...args], outFile);
  const [user, sys, rss] = readFileSync(report, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
  return { ms: r.ms, cpu: user + sys, rssKiB: rss, stderr: r.stderr };
}

/** One build in a child process: wall time, CPU time and peak RSS (KiB). */
async function runBuild(dir, binary, outDir, jsonFile) {
  rmSync(outDir, { recursive: true, force: true });
  const cli = ['bin/aiwatch-deploy.js', 'build', '--binary', binary, '--version', '1.0.0', '--arch', 'x86_64', '--development-build', '--out', outDir, '--json'];
  if (useTime) return measured(dir, process.execPath, cli, jsonFile);
  const wrapper = `const { main } = await import(${JSON.stringify(path.join(root, 'dist/cli/main.js'))});
process.exitCode = await main(${JSON.stringify(cli.slice(1))});
process.on('exit', () => process.stderr.write('MAXRSS ' + process.resourceUsage().maxRSS + '\\n'));`;
  const r = await timed(process.execPath, ['--input-type=module', '-e', wrapper], jsonFile);
  return { ms: r.ms, cpu: NaN, rssKiB: Number(/MAXRSS (\d+)/.exec(r.stderr)?.[1]) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sec = (ms) => (ms / 1000).toFixed(2);

async function benchSize(o, mib) {
  const binary = await makeBinary(o.dir, mib);
  const cpio = path.join(o.dir, `payload-${mib}m.cpio`);
  const cpioBytes = await writeCpioFile(binary, cpio);
  const cores = os.availableParallelism();
  const t = { gzip: [], pigz: [], build: [], rss: [], cpu: { gzip: [], pigz: [], build: [] }, load: [] };
  const sizes = {};
  for (let i = 0; i < o.runs; i++) {
    t.load.push(os.loadavg()[0]);
    const g = await measured(o.dir, 'gzip', ['-6', '-c', cpio], path.join(o.dir, 'out.gz'));
    sizes.gzip = statSync(path.join(o.dir, 'out.gz')).size;
    const p = await measured(o.dir, 'pigz', ['-6', '-p', String(cores), '-c', cpio], path.join(o.dir, 'out.pigz.gz'));
    sizes.pigz = statSync(path.join(o.dir, 'out.pigz.gz')).size;
    const b = await runBuild(o.dir, binary, path.join(o.dir, 'out'), path.join(o.dir, 'build.json'));
    for (const [k, r] of [['gzip', g], ['pigz', p], ['build', b]]) {
      t[k].push(r.ms);
      t.cpu[k].push(r.cpu);
    }
    t.rss.push(b.rssKiB);
    process.stderr.write(`  ${mib} MiB run ${i + 1}: gzip ${sec(g.ms)} s, pigz ${sec(p.ms)} s, build ${sec(b.ms)} s (CPU ${b.cpu.toFixed(2)} s), RSS ${(b.rssKiB / 1024).toFixed(0)} MiB\n`);
  }
  const result = JSON.parse(readFileSync(path.join(o.dir, 'build.json'), 'utf8'));
  sizes.pkg = result.manifest.files.find((f) => f.role === 'pkg').size;
  return {
    mib,
    binaryBytes: statSync(binary).size,
    cpioBytes,
    gzipBytes: sizes.gzip,
    pigzBytes: sizes.pigz,
    pkgBytes: sizes.pkg,
    gzip: median(t.gzip),
    pigz: median(t.pigz),
    build: median(t.build),
    cpu: { gzip: median(t.cpu.gzip), pigz: median(t.cpu.pigz), build: median(t.cpu.build) },
    rssMiB: Math.max(...t.rss) / 1024,
    runs: t,
  };
}

/** Like `measured`, but any exit code is a result (verify exits 1 on problems); needs /usr/bin/time. */
function measuredAny(dir, args) {
  const report = path.join(dir, 'time.txt');
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-o', report, '-f', '%U %S %M', process.execPath, 'bin/aiwatch-deploy.js', ...args], { cwd: root, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const [user, sys, rss] = readFileSync(report, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
  return { ms, code: r.status, cpu: user + sys, rssKiB: rss };
}

/** `gzip -dc` of the release's Payload (taken out of its pkg with bsdtar), to /dev/null: what reading it costs at least. */
function gunzipPayload(o, zipFile) {
  const dir = path.join(o.dir, 'payload-x');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const pkg = spawnSync('sh', ['-c', 'unzip -p "$1" "*.pkg" > "$2/x.pkg" && cd "$2" && bsdtar -xf x.pkg "*/Payload"', 'sh', zipFile, dir], { encoding: 'utf8' });
  if (pkg.status !== 0) throw new Error(`cannot take the Payload out of ${zipFile}: ${pkg.stderr}`);
  const payload = path.join(dir, readdirSync(dir).find((f) => f.endsWith('.pkg') && f !== 'x.pkg'), 'Payload');
  const report = path.join(o.dir, 'time.txt');
  return Array.from({ length: o.runs }, () => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('/usr/bin/time', ['-o', report, '-f', '%U %S %M', 'sh', '-c', 'gzip -dc "$1" > /dev/null', 'sh', payload]);
    if (r.status !== 0) throw new Error(`gzip -dc ${payload} failed`);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const [user, sys, rss] = readFileSync(report, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
    return { ms, cpu: user + sys, rssKiB: rss };
  });
}

/** verify of the release zip the last build of each size wrote (out/ is kept until then). */
function benchZipVerify(o, mib) {
  const out = path.join(o.dir, 'out');
  const zip = readdirSync(out).find((f) => f.endsWith('.zip'));
  const file = path.join(out, zip);
  const verify = [];
  const inspect = [];
  for (let i = 0; i < o.runs; i++) {
    verify.push(measuredAny(o.dir, ['verify', file]));
    inspect.push(measuredAny(o.dir, ['inspect', file]));
  }
  return { name: `release zip (${mib} MiB binary)`, mib, bytes: statSync(file).size, verify, inspect, gunzip: gunzipPayload(o, file), release: true };
}

/** verify and inspect of what `intune --intunewin` writes (a key file 0600 in the bench folder). */
function benchIntune(o) {
  const dir = path.join(o.dir, 'intune');
  rmSync(dir, { recursive: true, force: true });
  const key = path.join(o.dir, 'org.key');
  writeFileSync(key, 'rl_org_bench123', { mode: 0o600 });
  const made = spawnSync(process.execPath, ['bin/aiwatch-deploy.js', 'intune', '--host', 'https://acme.runlayer.com', '--org-api-key-file', key, '--out', dir, '--intunewin'], { cwd: root, encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`intune failed: ${made.stderr.slice(-2000)}`);
  return ['Detect-Aiwatch.ps1', 'Install-AiwatchDetect.ps1', 'Test-Aiwatch.ps1', 'Install-AiwatchDetect.intunewin'].map((name) => {
    const file = path.join(dir, name);
    const run = (cmd) => Array.from({ length: o.runs }, () => measuredAny(o.dir, [cmd, file]));
    return { name, bytes: statSync(file).size, verify: run('verify'), inspect: run('inspect') };
  });
}

function checkTable(rows) {
  const cell = (runs) => {
    if (!runs) return '— | —';
    const rss = Math.max(...runs.map((r) => r.rssKiB)) / 1024;
    return `${sec(median(runs.map((r) => r.ms)))} s | ${rss.toFixed(0)} MiB ${rss <= TARGET.checkRssMiB ? '✓' : '✗'}`;
  };
  return [
    '| file | size | verify | verify peak RSS | inspect | inspect peak RSS |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.name} | ${r.bytes >= 2 ** 20 ? `${(r.bytes / 2 ** 20).toFixed(1)} MiB` : `${(r.bytes / 1024).toFixed(1)} KiB`} | ${cell(r.verify)} | ${cell(r.inspect)} |`),
  ];
}

/** verify and inspect of each release zip against `gzip -dc` of its Payload: wall and CPU ratios, peak RSS. */
function releaseCheckTable(rows) {
  const ok = (v, max) => (v <= max ? '✓' : '✗');
  const lines = [
    '| binary | zip | gzip -dc Payload | verify | verify / gunzip | verify CPU / gunzip CPU | verify peak RSS | inspect | inspect / gunzip | inspect CPU / gunzip CPU | inspect peak RSS |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const g = median(r.gunzip.map((x) => x.ms));
    const gc = median(r.gunzip.map((x) => x.cpu));
    const cells = (runs) => {
      const w = median(runs.map((x) => x.ms));
      const c = median(runs.map((x) => x.cpu));
      const rss = Math.max(...runs.map((x) => x.rssKiB)) / 1024;
      return `${sec(w)} s (CPU ${c.toFixed(2)} s) | ${(w / g).toFixed(2)} ${ok(w / g, TARGET.gunzip)} | ${(c / gc).toFixed(2)} | ${rss.toFixed(0)} MiB ${ok(rss, TARGET.rssMiB)}`;
    };
    lines.push(`| ${r.mib} MiB | ${(r.bytes / 2 ** 20).toFixed(1)} MiB | ${sec(g)} s (CPU ${gc.toFixed(2)} s) | ${cells(r.verify)} | ${cells(r.inspect)} |`);
  }
  return lines;
}

function machineFacts() {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return [
    `- CPU: ${cpu}, ${os.availableParallelism()} cores available to Node (os.availableParallelism())`,
    `- Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; OS: ${os.type()} ${os.release()} (${os.arch()})`,
    `- Node ${process.version}; ${firstLine('gzip', ['--version'])}; ${firstLine('pigz', ['--version'])}`,
    `- Load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (the machine may be shared: see the notes)`,
  ];
}

function cpuTable(results) {
  const lines = [
    '| binary | gzip -6 CPU | pigz -6 CPU | build CPU | build CPU / gzip CPU | build CPU / pigz CPU |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const p = r.cpu.build / r.cpu.pigz;
    lines.push(`| ${r.mib} MiB | ${r.cpu.gzip.toFixed(2)} s | ${r.cpu.pigz.toFixed(2)} s | ${r.cpu.build.toFixed(2)} s | ${(r.cpu.build / r.cpu.gzip).toFixed(2)} | ${p.toFixed(2)} ${p <= TARGET.pigzCpu ? '✓' : '✗'} |`);
  }
  return lines;
}

function table(results) {
  const lines = [
    '| binary | cpio stream | gzip -6 | pigz -6 | build | build / gzip | build / pigz | build peak RSS |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const ok = (v, max) => (v <= max ? '✓' : '✗');
    const g = r.build / r.gzip;
    const p = r.build / r.pigz;
    lines.push(
      `| ${r.mib} MiB | ${(r.cpioBytes / 2 ** 20).toFixed(1)} MiB | ${sec(r.gzip)} s | ${sec(r.pigz)} s | ${sec(r.build)} s | ` +
        `${g.toFixed(2)} ${ok(g, TARGET.gzip)} | ${p.toFixed(2)} ${ok(p, TARGET.pigz)} | ${r.rssMiB.toFixed(0)} MiB ${ok(r.rssMiB, TARGET.rssMiB)} |`,
    );
  }
  return lines;
}

async function main() {
  const o = options(process.argv.slice(2));
  for (const tool of ['gzip', 'pigz']) if (!has(tool)) throw new Error(`${tool} is not installed`);
  if (!existsSync(path.join(root, 'dist/cli/main.js'))) throw new Error('dist/ is missing: run npm run build first');
  mkdirSync(o.dir, { recursive: true });
  const facts = machineFacts();
  const results = [];
  const checks = [];
  try {
    for (const mib of o.sizes) {
      results.push(await benchSize(o, mib));
      if (useTime) checks.push(benchZipVerify(o, mib));
    }
    if (useTime) checks.push(...benchIntune(o));
  } finally {
    const temporary = ['out.gz', 'out.pigz.gz', 'out', 'build.json', 'time.txt', 'intune', 'org.key', 'payload-x', ...o.sizes.map((mib) => `payload-${mib}m.cpio`)];
    if (!o.keep) for (const f of temporary) rmSync(path.join(o.dir, f), { recursive: true, force: true });
  }
  const out = [
    `Command: node scripts/bench.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    '',
    ...facts,
    `- Load average at end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    `- Medians of ${o.runs} alternating runs; wall times include process start; peak RSS is the largest of the runs ` +
      `(${useTime ? '/usr/bin/time -v' : 'process.resourceUsage().maxRSS'}).`,
    `- Targets: build ≤ ${TARGET.gzip} × gzip -6, ≤ ${TARGET.pigz} × pigz -6 (wall), ≤ ${TARGET.pigzCpu} × pigz -6 (CPU), peak RSS ≤ ${TARGET.rssMiB} MiB; ` +
      `verify and inspect of a release zip ≤ ${TARGET.gunzip} × gzip -dc of its Payload (wall), ≤ ${TARGET.rssMiB} MiB.`,
    '',
    ...table(results),
    '',
    'CPU time (user + system, medians), which the other load on a shared machine does not inflate:',
    '',
    ...cpuTable(results),
    '',
    'Compressed sizes: ' + results.map((r) => `${r.mib} MiB → gzip ${(r.gzipBytes / 2 ** 20).toFixed(1)} MiB, pigz ${(r.pigzBytes / 2 ** 20).toFixed(1)} MiB, pkg ${(r.pkgBytes / 2 ** 20).toFixed(1)} MiB`).join('; '),
    'Every run (wall, s): ' + results.map((r) => `${r.mib} MiB gzip [${r.runs.gzip.map(sec).join(', ')}] pigz [${r.runs.pigz.map(sec).join(', ')}] build [${r.runs.build.map(sec).join(', ')}], 1-min load before each run [${r.runs.load.map((l) => l.toFixed(1)).join(', ')}]`).join('; '),
    ...(checks.length > 0
      ? [
          '',
          `Checking the release zips (medians of ${o.runs} alternating runs, wall time with process start; peak RSS the largest, /usr/bin/time):`,
          '',
          ...releaseCheckTable(checks.filter((c) => c.release)),
          '',
          `Checking what we generate (medians of ${o.runs} runs, wall time with process start; peak RSS the largest, /usr/bin/time; target ≤ ${TARGET.checkRssMiB} MiB):`,
          '',
          ...checkTable(checks.filter((c) => !c.release)),
        ]
      : ['', 'Checking what we generate: not measured (needs /usr/bin/time).']),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

/** `--only build,tenants,…`: the parts to run (default all): build (with verify and inspect), tenants, doctor, upload, intune-upload. */
const PARTS = ['build', 'tenants', 'doctor', 'upload', 'intune-upload'];
const only = (() => {
  const i = process.argv.indexOf('--only');
  if (i < 0) return new Set(PARTS);
  const asked = String(process.argv[i + 1] ?? '').split(',').filter(Boolean);
  const unknown = asked.filter((p) => !PARTS.includes(p));
  if (asked.length === 0 || unknown.length > 0) throw new Error(`--only: expected a comma-separated list of ${PARTS.join(', ')}; got ${JSON.stringify(process.argv[i + 1] ?? '')}`);
  return new Set(asked);
})();
if (only.has('build')) await main();
if (only.has('tenants')) await (await import('./bench-tenants.mjs')).benchTenants(process.argv.slice(2)); // issue 14: tenants at scale (runnable alone)
if (only.has('doctor')) await (await import('./bench-doctor.mjs')).benchDoctor(process.argv.slice(2)); // issue 13: the macOS doctor in the fake root (runnable alone)
if (only.has('upload')) await (await import('./bench-upload.mjs')).benchUpload(process.argv.slice(2)); // issue 11: a 1 GiB Jamf upload, ours vs curl -F (runnable alone)
if (only.has('intune-upload')) await (await import('./bench-intune-upload.mjs')).benchIntuneUpload(); // issue 12: Intune content upload (encrypt + Put Blocks) vs curl -T, 1 GiB (runnable alone)
