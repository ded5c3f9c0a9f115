/**
 * Before/after of a change, interleaved in one invocation (not a test): for each round and size, `pigz -6` of the
 * cpio stream and `gzip -dc` of the Payload (the baselines of issue 14), then `build`, `verify` and `inspect` with
 * each checkout in turn — the same binaries, the same release zip, the same disk — under `/usr/bin/time`. Prints
 * medians, ratios against the baselines of the same rounds, CPU seconds and peak RSS. On a shared machine the
 * interleaving is what makes "before" and "after" comparable; `npm run bench` gives one commit's absolute table.
 *
 *   git worktree add /tmp/before <commit> && (cd /tmp/before && npm ci)      # or any checkout with dist/ built
 *   npm run build && node scripts/bench-ab.mjs --before /tmp/before --rounds 3 --sizes 64,256
 *
 * Options: --before DIR (required: a checkout with dist/), --rounds N (3), --sizes (64,256), --dir (the bench
 * binaries; default <tmp>/aiwatch-bench, shared with `npm run bench`, made with scripts/make-bench-binary.ts when
 * missing). Needs pigz, gzip, bsdtar and /usr/bin/time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const after = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function options(argv) {
  const at = (flag, dflt) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  const before = at('--before');
  if (!before || !existsSync(path.join(before, 'dist/cli/main.js'))) {
    process.stderr.write('bench-ab: --before DIR must name a checkout with dist/ built (see the header of scripts/bench-ab.mjs)\n');
    process.exit(2);
  }
  for (const tool of ['pigz', 'gzip', 'bsdtar', '/usr/bin/time']) {
    if (spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool]).status !== 0) {
      process.stderr.write(`bench-ab: ${tool} is needed (apt-get install pigz libarchive-tools time)\n`);
      process.exit(4);
    }
  }
  return {
    before: path.resolve(before),
    rounds: Number(at('--rounds', '3')),
    sizes: String(at('--sizes', '64,256')).split(',').map(Number),
    dir: path.resolve(at('--dir', path.join(os.tmpdir(), 'aiwatch-bench'))),
  };
}

/** `cmd args` under /usr/bin/time: wall s, CPU s (user + system), peak RSS MiB. Any exit code is a result. */
function timed(work, cmd, args, stdoutFile) {
  const report = path.join(work, 'time.txt');
  const shell = stdoutFile ? `"$@" > '${stdoutFile}'` : '"$@" > /dev/null';
  const t0 = process.hrtime.bigint();
  spawnSync('/usr/bin/time', ['-o', report, '-f', '%U %S %M', 'sh', '-c', `${shell} 2>/dev/null`, 'sh', cmd, ...args], { cwd: work, stdio: 'ignore' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const [user, sys, rss] = readFileSync(report, 'utf8').trim().split('\n').at(-1).split(' ').map(Number);
  return { wall, cpu: user + sys, rss: rss / 1024 };
}

function binaryOf(dir, mib) {
  const file = path.join(dir, `aiwatch-${mib}m`);
  if (!existsSync(file)) {
    const r = spawnSync(process.execPath, [path.join(after, 'scripts/make-bench-binary.ts'), '--size-mib', String(mib), '--out', file], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('make-bench-binary failed');
  }
  return file;
}

const cli = (root, ...args) => [path.join(root, 'bin/aiwatch-deploy.js'), ...args];
const buildArgs = (binary, out) => ['build', '--binary', binary, '--version', '1.0.0', '--arch', 'x86_64', '--development-build', '--out', out];

/** The release zip of `binary` (built once with the after checkout), its Payload and the cpio stream inside. */
function inputs(work, binary, mib) {
  const out = path.join(work, `release-${mib}`);
  spawnSync(process.execPath, cli(after, ...buildArgs(binary, out)), { stdio: 'ignore', env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' } });
  const zip = path.join(out, readdirSync(out).find((n) => n.endsWith('.zip')));
  const x = path.join(work, `x-${mib}`);
  mkdirSync(x);
  spawnSync('bsdtar', ['-xf', zip, '-C', x]);
  const pkg = readdirSync(x).find((n) => n.endsWith('.pkg'));
  spawnSync('bsdtar', ['-xf', path.join(x, pkg), '-C', x]);
  const payload = path.join(x, 'aiwatch.pkg', 'Payload');
  const cpio = path.join(work, `payload-${mib}.cpio`);
  spawnSync('sh', ['-c', `gzip -dc < '${payload}' > '${cpio}'`]);
  return { zip, payload, cpio };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function main() {
  const o = options(process.argv.slice(2));
  mkdirSync(o.dir, { recursive: true });
  const work = mkdtempSync(path.join(os.tmpdir(), 'aiwatch-bench-ab-'));
  const rows = new Map(); // `${mib} ${what}` → results
  const add = (k, r) => rows.set(k, [...(rows.get(k) ?? []), r]);
  try {
    const sizes = o.sizes.map((mib) => ({ mib, binary: binaryOf(o.dir, mib) }));
    for (const s of sizes) Object.assign(s, inputs(work, s.binary, s.mib));
    const load0 = os.loadavg()[0];
    for (let r = 1; r <= o.rounds; r++) {
      for (const s of sizes) {
        add(`${s.mib} pigz`, timed(work, 'pigz', ['-6', '-p', String(os.availableParallelism()), '-c', s.cpio]));
        add(`${s.mib} gunzip`, timed(work, 'sh', ['-c', `gzip -dc < '${s.payload}'`]));
        for (const [name, root] of [['before', o.before], ['after', after]]) {
          const out = path.join(work, `out-${name}`);
          rmSync(out, { recursive: true, force: true });
          add(`${s.mib} build ${name}`, timed(work, process.execPath, cli(root, ...buildArgs(s.binary, out))));
          add(`${s.mib} verify ${name}`, timed(work, process.execPath, cli(root, 'verify', s.zip)));
          add(`${s.mib} inspect ${name}`, timed(work, process.execPath, cli(root, 'inspect', s.zip)));
        }
        process.stderr.write(`round ${r}, ${s.mib} MiB done\n`);
      }
    }
    const load1 = os.loadavg()[0];
    const m = (k, f) => median(rows.get(k).map(f));
    const lines = [
      `before: ${o.before}; after: ${after}; ${o.rounds} rounds; 1-min load ${load0.toFixed(2)} → ${load1.toFixed(2)}; medians, peak RSS the largest`,
      '',
      '| command | wall before → after | ratio before → after | CPU before → after | CPU ratio before → after | peak RSS before → after |',
      '|---|---|---|---|---|---|',
    ];
    for (const { mib } of sizes) {
      const base = { build: `${mib} pigz`, verify: `${mib} gunzip`, inspect: `${mib} gunzip` };
      for (const what of ['build', 'verify', 'inspect']) {
        const [b, a] = [`${mib} ${what} before`, `${mib} ${what} after`];
        const bw = m(base[what], (x) => x.wall);
        const bc = m(base[what], (x) => x.cpu);
        const rss = (k) => Math.max(...rows.get(k).map((x) => x.rss)).toFixed(0);
        const w = (k) => m(k, (x) => x.wall);
        const c = (k) => m(k, (x) => x.cpu);
        const vs = what === 'build' ? 'pigz' : 'gzip -dc';
        lines.push(
          `| ${what} ${mib} MiB | ${w(b).toFixed(2)} → ${w(a).toFixed(2)} s | ${(w(b) / bw).toFixed(2)} → ${(w(a) / bw).toFixed(2)} × ${vs} | ${c(b).toFixed(2)} → ${c(a).toFixed(2)} s | ${(c(b) / bc).toFixed(2)} → ${(c(a) / bc).toFixed(2)} | ${rss(b)} → ${rss(a)} MiB |`,
        );
      }
      lines.push(`| (${mib} MiB baselines) | pigz ${m(`${mib} pigz`, (x) => x.wall).toFixed(2)} s, gzip -dc ${m(`${mib} gunzip`, (x) => x.wall).toFixed(2)} s | | pigz ${m(`${mib} pigz`, (x) => x.cpu).toFixed(2)} s, gzip -dc ${m(`${mib} gunzip`, (x) => x.cpu).toFixed(2)} s | | |`);
    }
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main();
