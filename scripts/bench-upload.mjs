/**
 * `npm run bench` (issue 11), runnable alone: a 1 GiB pkg uploaded to the local Jamf Pro server
 * (test/helpers/servers/jamf) by our Jamf driver (dist/mdm/jamf/driver.js: sign-in, plan, then apply of the package
 * object — record, streamed multipart upload, distribution-point check) against `curl -F file=@…` of the same file
 * to the same server, in one run, alternating. Reported: wall time, CPU time (user + system) and peak RSS of each
 * client process (/usr/bin/time -v), and the ratios ours/curl.
 *
 *   node scripts/bench-upload.mjs                  # 1024 MiB, 1 run each
 *   node scripts/bench-upload.mjs --upload-mib 256 --upload-runs 3 --dir /tmp/aiwatch-bench
 *
 * The server runs in its own process (node --experimental-transform-types, with a resolver for the `.js`
 * specifiers of the TypeScript sources), hashing md5, sha256 and sha512 of each upload as it streams; its cost is
 * the same for both clients. The server reports the hash it computed: both uploads must match the file's sha256.
 * Needs dist/ (npm run build), curl and /usr/bin/time.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL, URLSearchParams } from 'node:url';

const { fetch } = globalThis;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function options(argv) {
  const at = (flag, dflt) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  return {
    mib: Number(at('--upload-mib', '1024')),
    runs: Number(at('--upload-runs', '1')),
    dir: path.resolve(at('--dir', path.join(os.tmpdir(), 'aiwatch-bench'))),
  };
}

/** A `.js` specifier whose file does not exist resolves to the `.ts` next to it (the sources are NodeNext TypeScript). */
const HOOK = `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
registerHooks({ resolve(spec, ctx, next) {
  if (spec.startsWith('.') && spec.endsWith('.js') && ctx.parentURL && ctx.parentURL.startsWith('file:') && !existsSync(fileURLToPath(new URL(spec, ctx.parentURL)))) return next(spec.slice(0, -3) + '.ts', ctx);
  return next(spec, ctx);
} });`)}`;

/** The server process: prints one JSON line {url, clientId, clientSecret}, then serves until stdin closes. */
const SERVER = `
const { startJamfServer } = await import(${JSON.stringify(pathToFileURL(path.join(root, 'test/helpers/servers/jamf/server.ts')).href)});
const s = await startJamfServer({ convergeAfterReads: 0, oauthLifetimeSec: 3600 });
process.stdout.write(JSON.stringify({ url: s.url, clientId: s.clients[0].id, clientSecret: s.clients[0].secret }) + '\\n');
process.stdin.resume();
process.stdin.on('end', () => s.close().then(() => process.exit(0)));
`;

/** Our client: the Jamf driver from dist/, the package object only. argv: url clientId file version sha256 sha512 md5 size; secret on stdin. */
const OURS = `
const [url, clientId, file, version, sha256, sha512, md5, size] = process.argv.slice(1);
const { createReadStream } = await import('node:fs');
const { jamfDriver } = await import(${JSON.stringify(pathToFileURL(path.join(root, 'dist/mdm/jamf/driver.js')).href)});
const { Secret } = await import(${JSON.stringify(pathToFileURL(path.join(root, 'dist/secret.js')).href)});
let secret = '';
for await (const c of process.stdin) secret += c;
const plist = (n) => Buffer.from('<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>PayloadDisplayName</key><string>' + n + '</string></dict></plist>');
const release = {
  version,
  pkg: { fileName: 'aiwatch-' + version + '-macos-arm64.pkg', size: Number(size), sha256, sha512, md5, read: () => createReadStream(file, { highWaterMark: 1 << 20 }) },
  profiles: { pppc: plist('PPPC'), loginItems: plist('Login items') },
  trust: { developerIdSigned: true, notarizedStapled: true, pppcMatchesBinary: true, problems: [] },
};
const target = {
  name: 'bench', mdm: 'jamf', url, testServer: true, options: {},
  credentials: { clientId, clientSecret: new Secret(secret.trim(), 'clientSecret') },
  tenant: { Host: 'https://bench.runlayer.com', OrgApiKey: new Secret('rl_org_BenchKey0123456789abcdef', 'OrgApiKey') },
  scope: { smartGroup: { name: 'Bench', criteria: [{ name: 'Computer Name', searchType: 'like', value: 'mac', andOr: 'and' }] } },
};
const session = await jamfDriver.connect(target, release, { signal: new AbortController().signal });
const pkg = (await session.plan()).find((o) => o.kind === 'package');
await session.apply(pkg);
process.stdout.write(JSON.stringify(session.counts()) + '\\n');
await session.close();
`;

/** Run under /usr/bin/time -v: {ms, cpuS, rssMiB, stdout}. */
function timed(cmd, args, input) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-v', cmd, ...args], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(input ?? '');
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) return reject(new Error(`${cmd} exited ${code}\n${stderr.slice(-3000)}`));
      const num = (re) => Number(re.exec(stderr)?.[1] ?? NaN);
      resolve({ ms, cpuS: num(/User time \(seconds\): ([\d.]+)/) + num(/System time \(seconds\): ([\d.]+)/), rssMiB: num(/Maximum resident set size \(kbytes\): (\d+)/) / 1024, stdout });
    });
  });
}

async function makeFile(dir, mib) {
  const file = path.join(dir, `upload-${mib}m.pkg`);
  if (!existsSync(file) || statSync(file).size !== mib * 2 ** 20) {
    const block = randomBytes(2 ** 20);
    const fd = openSync(file, 'w');
    for (let i = 0; i < mib; i++) {
      block.writeUInt32LE(i, 0);
      writeSync(fd, block);
    }
    closeSync(fd);
  }
  const h = { md5: createHash('md5'), sha256: createHash('sha256'), sha512: createHash('sha512') };
  for await (const c of createReadStream(file, { highWaterMark: 1 << 20 })) for (const x of Object.values(h)) x.update(c);
  return { file, size: mib * 2 ** 20, md5: h.md5.digest('hex'), sha256: h.sha256.digest('hex'), sha512: h.sha512.digest('hex') };
}

async function startServer() {
  const child = spawn(process.execPath, ['--experimental-transform-types', '--no-warnings', '--import', HOOK, '--input-type=module', '-e', SERVER], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  const info = await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) resolve(JSON.parse(buf.split('\n')[0]));
    });
    child.on('exit', (code) => reject(new Error(`the local Jamf server exited ${code}`)));
  });
  return { ...info, stop: () => child.stdin.end() };
}

async function api(server, token, method, p, body) {
  const r = await fetch(`${server.url}${p}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  if (!r.ok) throw new Error(`${method} ${p}: HTTP ${r.status} ${await r.text()}`);
  return r.status === 204 ? undefined : r.json();
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function benchUpload(argv) {
  const o = options(argv);
  for (const tool of ['curl', '/usr/bin/time']) {
    if (spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool]).status !== 0) {
      process.stdout.write(`\nUpload bench: not measured (needs ${tool}).\n`);
      return;
    }
  }
  if (!existsSync(path.join(root, 'dist/mdm/jamf/driver.js'))) throw new Error('bench-upload: dist/ is missing: run npm run build');
  mkdirSync(o.dir, { recursive: true });
  process.stderr.write(`upload bench: ${o.mib} MiB file…\n`);
  const f = await makeFile(o.dir, o.mib);
  const server = await startServer();
  const runs = { ours: [], curl: [] };
  try {
    const tok = await fetch(`${server.url}/api/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: server.clientId, client_secret: server.clientSecret, grant_type: 'client_credentials' }) });
    const token = (await tok.json()).access_token;
    for (let i = 0; i < o.runs; i++) {
      process.stderr.write(`upload bench: run ${i + 1}/${o.runs}: curl…\n`);
      const name = `curl-${i}.pkg`;
      const { id } = await api(server, token, 'POST', '/api/v1/packages', { packageName: name, fileName: name, categoryId: '-1', priority: 10, fillUserTemplate: false, osInstall: false, rebootRequired: false, suppressEula: false, suppressFromDock: false, suppressRegistration: false, suppressUpdates: false });
      // The token travels in a header file, not on argv.
      const hdr = path.join(o.dir, 'curl-auth.txt');
      const fd = openSync(hdr, 'w', 0o600);
      writeSync(fd, `authorization: Bearer ${token}\n`);
      closeSync(fd);
      const c = await timed('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', `@${hdr}`, '-F', `file=@${f.file};type=application/octet-stream`, `${server.url}/api/v1/packages/${id}/upload`]);
      rmSync(hdr, { force: true });
      if (c.stdout.trim() !== '201') throw new Error(`curl upload: HTTP ${c.stdout}`);
      const cp = await api(server, token, 'GET', `/api/v1/packages/${id}`);
      if (cp.sha256 !== f.sha256 || cp.size !== String(f.size)) throw new Error(`curl upload: the server reports ${cp.sha256} / ${cp.size}`);
      runs.curl.push(c);

      process.stderr.write(`upload bench: run ${i + 1}/${o.runs}: aiwatch-deploy Jamf driver…\n`);
      const version = `9.${i}.0`;
      const ours = await timed(process.execPath, ['--input-type=module', '-e', OURS, server.url, server.clientId, f.file, version, f.sha256, f.sha512, f.md5, String(f.size)], server.clientSecret);
      const list = await api(server, token, 'GET', `/api/v1/packages?filter=${encodeURIComponent(`fileName=="aiwatch-${version}-macos-arm64.pkg"`)}`);
      const op = list.results[0];
      if (!op || op.sha256 !== f.sha256 || op.size !== String(f.size)) throw new Error(`our upload: the server reports ${op?.sha256} / ${op?.size}`);
      runs.ours.push(ours);
    }
  } finally {
    server.stop();
  }
  const m = (k, field) => median(runs[k].map((r) => r[field]));
  const mibps = (k) => o.mib / (m(k, 'ms') / 1000);
  const lines = [
    '',
    `Upload of a ${o.mib} MiB pkg to the local Jamf Pro server (POST /api/v1/packages/{id}/upload, multipart), medians of ${o.runs} alternating run(s); wall time includes process start (and, for ours, sign-in, plan reads and the record); /usr/bin/time -v:`,
    '',
    '| client | wall (s) | MiB/s | CPU user+sys (s) | peak RSS (MiB) |',
    '|---|---|---|---|---|',
    `| curl -F | ${(m('curl', 'ms') / 1000).toFixed(2)} | ${mibps('curl').toFixed(0)} | ${m('curl', 'cpuS').toFixed(2)} | ${Math.max(...runs.curl.map((r) => r.rssMiB)).toFixed(0)} |`,
    `| aiwatch-deploy Jamf driver | ${(m('ours', 'ms') / 1000).toFixed(2)} | ${mibps('ours').toFixed(0)} | ${m('ours', 'cpuS').toFixed(2)} | ${Math.max(...runs.ours.map((r) => r.rssMiB)).toFixed(0)} |`,
    `| ratio ours/curl | ${(m('ours', 'ms') / m('curl', 'ms')).toFixed(2)} | | ${(m('ours', 'cpuS') / m('curl', 'cpuS')).toFixed(2)} | |`,
    '',
    `Both uploads verified: the server's sha256 and size of each equal the file's. Every run (wall, s): curl [${runs.curl.map((r) => (r.ms / 1000).toFixed(2)).join(', ')}], ours [${runs.ours.map((r) => (r.ms / 1000).toFixed(2)).join(', ')}].`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await benchUpload(process.argv.slice(2));
