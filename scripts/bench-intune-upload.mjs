/**
 * Runnable alone (issue 12): the Intune content upload of a 1 GiB pkg end to end against Azure Storage's emulator,
 * in one run, against `curl -T` of the same file to the same Azurite:
 *
 *   ours  the driver's content flow (dist/mdm/intune/upload.js ContentUpload, dist/mdm/intune/client.js GraphClient,
 *         signing in with dist/mdm/intune/auth.js) against the local Intune server (test/helpers/servers/intune):
 *         content version, file, SAS, the two streamed encryption passes (HMAC ‖ IV ‖ AES-256-CBC), 8 MiB Put Blocks
 *         and a Put Block List to Azurite, commit, and the polls until the server has read the blob back from
 *         Azurite, decrypted it and checked its digest (commitFileSuccess);
 *   curl  `curl -T` of the plain file as one Put Blob to a SAS URI of the same Azurite (no encryption, no Graph).
 *
 * Each client is its own process under /usr/bin/time: wall, CPU (user + system) and peak RSS. Azurite and the Graph
 * server run in other processes (not counted in those; Azurite's CPU during each client is given apart, from /proc);
 * for ours the wall to the last block (before the commit and the server's check) is given too. The load average is printed: the machine may be shared.
 *
 *   node scripts/bench-intune-upload.mjs                 # 1024 MiB
 *   node scripts/bench-intune-upload.mjs --mib 256 --dir /tmp/aiwatch-bench
 *
 * Needs dist/ (npm run build), curl and /usr/bin/time, and ~2.5 GiB of free memory (Azurite keeps blobs in memory).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const at = (flag, dflt) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : dflt);
const mib = Number(at('--mib', '1024'));
const dir = at('--dir', path.join(os.tmpdir(), 'aiwatch-bench-intune'));
const url = (p) => JSON.stringify(pathToFileURL(path.join(root, p)).href);

/** A `.js` specifier whose file does not exist resolves to the `.ts` next to it (the sources are NodeNext TypeScript). */
const HOOK = `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
registerHooks({ resolve(spec, ctx, next) {
  if (spec.startsWith('.') && spec.endsWith('.js') && ctx.parentURL && ctx.parentURL.startsWith('file:') && !existsSync(fileURLToPath(new URL(spec, ctx.parentURL)))) return next(spec.slice(0, -3) + '.ts', ctx);
  return next(spec, ctx);
} });`)}`;

/**
 * The server process: Azurite (its own child) and the local Intune server; prints one JSON line (Graph URL, sign-in,
 * a SAS for curl's blob), then on stdin: `check` prints what the server verified, `clean` drops our blobs; EOF stops.
 */
const SERVER = `
import { createInterface } from 'node:readline';
const { startAzurite, BlobAccount } = await import(${url('test/helpers/servers/intune/azurite.ts')});
const { startIntuneServer } = await import(${url('test/helpers/servers/intune/server.ts')});
const azurite = await startAzurite({ memoryLimitMiB: ${mib * 2 + 512} });
const s = await startIntuneServer({ storageUrl: azurite.accountUrl, storageUriPendingPolls: 0, keepContentUpTo: 0 });
const storage = new BlobAccount(azurite.accountUrl);
await storage.createContainer('bench-curl');
const curlSas = storage.sasUri({ container: 'bench-curl', blob: 'pkg.bin', permissions: 'cw', expiresAt: Date.now() + 3_600_000 });
process.stdout.write(JSON.stringify({ url: s.url, graphUrl: s.graphUrl, tenantId: s.tenantId, clientId: s.clients[0].id, secret: s.clients[0].secret, curlSas, azuriteStartMs: azurite.startMs, azuritePid: azurite.pid }) + '\\n');
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (line === 'check') process.stdout.write(JSON.stringify({ contents: s.contents.map((c) => ({ name: c.name, size: c.size, sha256: c.sha256 })), problems: [...s.validationFailures, ...s.commitProblems] }) + '\\n');
  if (line === 'clean') { await s.store.dispose(); process.stdout.write('{}\\n'); }
  if (line === 'curl-size') { const b = await storage.read('bench-curl', 'pkg.bin'); let n = 0; for await (const c of b.body) n += c.length; process.stdout.write(JSON.stringify({ size: n }) + '\\n'); }
}
await s.close();
await azurite.stop();
process.exit(0);
`;

/** Our client: argv url graphUrl tenantId clientId file size; the client secret on stdin. Prints {lastBlockMs}. */
const OURS = `
import { createReadStream, readFileSync } from 'node:fs';
const [url, graphUrl, tenantId, clientId, file, size] = process.argv.slice(2);
const { IntuneAuth } = await import(${url('dist/mdm/intune/auth.js')});
const { GraphClient } = await import(${url('dist/mdm/intune/client.js')});
const { ContentUpload } = await import(${url('dist/mdm/intune/upload.js')});
const { Secret } = await import(${url('dist/secret.js')});
const t0 = performance.now();
const secret = new Secret(readFileSync(0, 'utf8').trim(), 'clientSecret');
const ctl = new AbortController();
const http = { signal: ctl.signal };
const auth = new IntuneAuth({ tenantId, clientId, credential: { kind: 'secret', clientSecret: secret }, authority: url, graphUrl }, http, 'intune bench');
const client = new GraphClient(graphUrl, auth, { ...http, secrets: [secret] }, 'intune bench');
const app = await client.json({ object: 'app', action: 'create', method: 'POST', path: '/deviceAppManagement/mobileApps', json: { '@odata.type': '#microsoft.graph.macOSPkgApp', displayName: 'bench', fileName: 'bench.pkg', primaryBundleId: 'com.example.bench', primaryBundleVersion: '1.0', includedApps: [{ bundleId: 'com.example.bench', bundleVersion: '1.0' }], ignoreVersionDetection: false } }, [201]);
let lastBlockMs = 0;
const ctx = { signal: ctl.signal, onUploadProgress: (o, done, total) => { if (done === total) lastBlockMs = performance.now() - t0; } };
const cv = await new ContentUpload({ client, ctx, object: 'app "bench"', appId: app.id, cast: 'microsoft.graph.macOSPkgApp', fileName: 'bench.pkg', size: Number(size), read: () => createReadStream(file, { highWaterMark: 1 << 20 }), sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 200))) }).run();
await client.expect({ object: 'app', action: 'commit version', method: 'PATCH', path: '/deviceAppManagement/mobileApps/' + app.id, json: { '@odata.type': '#microsoft.graph.macOSPkgApp', committedContentVersion: cv } }, [200, 204]);
process.stdout.write(JSON.stringify({ lastBlockMs: Math.round(lastBlockMs), counts: client.totals() }) + '\\n');
`;

/** CPU seconds (user + system) a process has used so far, from /proc (Linux; undefined elsewhere). */
function cpuOf(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return undefined;
  }
}

function timed(cmd, args, input) {
  const report = path.join(dir, 'time.txt');
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-o', report, '-f', '%U %S %M', cmd, ...args], { encoding: 'utf8', input, maxBuffer: 1 << 20 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const [u, s, kb] = readFileSync(report, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  return { out: r.stdout, wallS: +wall.toFixed(2), cpuS: +(u + s).toFixed(2), peakRssMiB: +(kb / 1024).toFixed(0), MiBps: +(mib / wall).toFixed(0) };
}

export async function benchIntuneUpload() {
  for (const f of ['dist/mdm/intune/upload.js', 'dist/mdm/intune/client.js', 'dist/mdm/intune/auth.js']) if (!existsSync(path.join(root, f))) throw new Error(`${f} is missing: npm run build`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `pkg-${mib}.bin`);
  if (!existsSync(file)) {
    const fd = openSync(file, 'w', 0o600);
    for (let i = 0; i < mib; i += 1) writeSync(fd, randomBytes(1 << 20));
    closeSync(fd);
  }
  const size = mib * 1024 * 1024;
  const server = spawn(process.execPath, ['--experimental-transform-types', '--no-warnings', '--import', HOOK, '--input-type=module', '-e', SERVER], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = [];
  let buf = '';
  const waiters = [];
  server.stdout.on('data', (d) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  const next = () => (lines.length ? Promise.resolve(lines.shift()) : new Promise((r) => waiters.push(r)));
  const ask = (cmd) => {
    server.stdin.write(`${cmd}\n`);
    return next();
  };
  try {
    const info = await next();
    const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
    const client = path.join(dir, 'ours.mjs');
    writeFileSync(client, OURS);
    const a0 = cpuOf(info.azuritePid);
    const ours = timed(process.execPath, [client, info.url, info.graphUrl, info.tenantId, info.clientId, file, String(size)], `${info.secret}\n`);
    const a1 = cpuOf(info.azuritePid);
    const detail = JSON.parse(ours.out.trim().split('\n').pop());
    const check = await ask('check');
    if (check.problems.length > 0 || check.contents[0]?.size !== size) throw new Error(`the server did not verify our upload: ${JSON.stringify(check)}`);
    await ask('clean');
    const a2 = cpuOf(info.azuritePid);
    const curl = timed('curl', ['-s', '-f', '-o', '/dev/null', '-T', file, '-H', 'x-ms-blob-type: BlockBlob', '-H', 'x-ms-version: 2021-10-04', info.curlSas]);
    const a3 = cpuOf(info.azuritePid);
    // Azurite's own CPU while each client ran (for ours it includes the server's read-back of the blob).
    if (a0 !== undefined) ours.azuriteCpuS = +(a1 - a0).toFixed(2);
    if (a2 !== undefined) curl.azuriteCpuS = +(a3 - a2).toFixed(2);
    const stored = await ask('curl-size');
    if (stored.size !== size) throw new Error(`curl's blob is ${stored.size} bytes, expected ${size}`);
    delete ours.out;
    delete curl.out;
    console.log(`intune upload ${mib} MiB to Azurite (load average before: ${load}; Azurite started in ${info.azuriteStartMs} ms):`);
    console.log(`  ours (sign-in, content version, 2-pass AES-256-CBC + HMAC, ${Math.ceil((size + 64) / (8 << 20))} × 8 MiB Put Block, Put Block List, commit, server check): ${JSON.stringify({ ...ours, lastBlockS: +(detail.lastBlockMs / 1000).toFixed(2), requests: detail.counts })}`);
    console.log(`  curl -T (one Put Blob, plain): ${JSON.stringify(curl)}`);
    console.log(`  verified by the server: ${check.contents[0].name} ${check.contents[0].size} bytes sha256 ${check.contents[0].sha256.slice(0, 16)}…`);
    console.log(`  load average after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    server.stdin.end();
    await new Promise((r) => server.once('exit', r));
    if (!argv.includes('--keep')) rmSync(file, { force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await benchIntuneUpload();
