/**
 * Bench (not a test): the macOS doctor (`aiwatch-doctor.sh`, issue 13) run for real under dash in the fake macOS
 * root of test/doctor/ (recording stubs for profiles, sqlite3, codesign, launchctl, curl, scutil, stat, id, dscl,
 * plutil, pkgutil, sw_vers; the healthy Mac of FakeDoctorMac). Reported, as medians of --runs: wall time and CPU
 * time (user + system, /usr/bin/time) of the human report, --json, the Jamf extension attribute (offline) and --bundle with 3 MiB agent logs; how many
 * programs one run starts (execve, counted with strace -f when it is installed); the sizes of the three scripts
 * and of the bundle. The stubs answer at once, so this is the doctor's own cost (shell, awk, tr, tail, tar): on a
 * Mac the real profiles, codesign and curl (≤ 10 s each, bounded) add theirs.
 *
 *   node scripts/bench-doctor.mjs              # 5 runs (needs dist/: npm run build; dash)
 *   node scripts/bench-doctor.mjs --runs 10
 *
 * `npm run bench` runs it after the other benches (one line at the end of scripts/bench.mjs).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function options(argv) {
  const i = argv.indexOf('--runs');
  return { runs: Number(i >= 0 ? argv[i + 1] : '5') };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const has = (tool) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool]).status === 0;

/** execve calls of one run of `script` in `mac` (strace -f), or undefined without strace. */
function countExec(mac, script, args) {
  if (!has('strace')) return undefined;
  const file = path.join(mac.dir, 'strace.out');
  // the run's environment has no PATH (the doctor pins its own): strace gets dash by its full path
  const dash = spawnSync('sh', ['-c', 'command -v dash'], { encoding: 'utf8' }).stdout.trim();
  const traced = mac.run(script, args, {}, ['strace', '-f', '-qq', '-e', 'trace=execve', '-o', file, dash]);
  if (traced.status !== 0) return undefined;
  return readFileSync(file, 'utf8').split('\n').filter((l) => /execve\(/.test(l) && !/ = -1 /.test(l)).length;
}

export async function benchDoctor(argv) {
  const o = options(argv);
  if (!has('dash')) {
    console.log('\nbench-doctor: dash is not installed, skipped');
    return;
  }
  const { loadDefaultSpec } = await import(path.join(root, 'dist/config/spec.js'));
  const { renderDoctorScripts } = await import(path.join(root, 'dist/doctor/doctor-macos.js'));
  const { FakeDoctorMac } = await import(path.join(root, 'test/doctor/fake-mac-doctor.ts'));
  const spec = loadDefaultSpec();
  const s = renderDoctorScripts(spec);
  const mac = new FakeDoctorMac();
  try {
    mac.healthy(spec);
    const line = 'x'.repeat(1023) + '\n';
    for (const f of ['ai_watch_detect.log', 'ai_watch_enforce.log', 'auto_provisioning.log']) mac.file(`/var/log/runlayer/${f}`, line.repeat(3 * 1024));
    const bundle = path.join(mac.dir, 'support.tar.gz');
    const cases = [
      ['report', s.doctor, []],
      ['--json', s.doctor, ['--json']],
      ['Jamf EA (offline)', s.jamfAttribute, []],
      ['--bundle (3 x 3 MiB logs)', s.doctor, ['--bundle', bundle]],
    ];
    // CPU seconds (user + system of the shell and every program it starts) from /usr/bin/time, when installed:
    // unlike the wall time, they do not grow with the load of a shared machine.
    const dash = spawnSync('sh', ['-c', 'command -v dash'], { encoding: 'utf8' }).stdout.trim();
    const timeTool = existsSync('/usr/bin/time') ? ['/usr/bin/time', '-f', 'CPU %U %S', dash] : ['dash'];
    const rows = [];
    for (const [name, script, args] of cases) {
      const ms = [];
      const cpu = [];
      for (let i = 0; i < o.runs; i++) {
        const r = mac.run(script, args, {}, timeTool);
        if (r.status !== 0) throw new Error(`${name}: exit ${r.status}: ${r.stderr}`);
        ms.push(r.ms);
        const m = /CPU ([0-9.]+) ([0-9.]+)\s*$/.exec(r.stderr);
        if (m) cpu.push((Number(m[1]) + Number(m[2])) * 1000);
      }
      rows.push([name, median(ms), cpu.length ? median(cpu) : undefined, countExec(mac, script, args)]);
    }
    console.log(`\n## macOS doctor in the fake root (dash, ${o.runs} runs, medians; stubs answer at once)\n`);
    console.log('| run | wall ms | CPU ms (user+sys) | programs started |');
    console.log('|---|---:|---:|---:|');
    for (const [name, ms, cpu, n] of rows) console.log(`| ${name} | ${ms.toFixed(0)} | ${cpu === undefined ? 'n/a' : cpu.toFixed(0)} | ${n ?? 'n/a (no strace)'} |`);
    const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
    console.log(`\nscripts: aiwatch-doctor.sh ${kib(Buffer.byteLength(s.doctor))}, aiwatch-jamf-ea.sh ${kib(Buffer.byteLength(s.jamfAttribute))}, aiwatch-intune-attribute.sh ${kib(Buffer.byteLength(s.intuneAttribute))}; bundle ${kib(statSync(bundle).size)} (three 2 MiB log tails of repeated text, gzip)`);
  } finally {
    mac.dispose();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchDoctor(process.argv.slice(2));
