/**
 * Runnable alone (issue 15): the client-side cost of publishing a large pkg to Kandji — the Kandji driver
 * (dist/mdm/kandji/driver.js) applying a whole target (three profiles, the upload slot, the S3 presigned POST of the
 * pkg streamed as multipart/form-data, the custom app, the assignments) — against `curl -F` posting the same file
 * as a form to the same local sink. The Kandji API here is a tiny stand-in written in this script (it answers what
 * the driver needs, validates nothing: the validating server is test/helpers/servers/kandji, used by the tests); the
 * S3 sink counts and discards the body and answers 204. Reported per client: wall, CPU (user + system) and peak RSS
 * by /usr/bin/time.
 *
 *   node scripts/bench-kandji-upload.mjs                 # 1024 MiB
 *   node scripts/bench-kandji-upload.mjs --mib 256 --dir /tmp/aiwatch-bench
 *
 * Needs dist/ (npm run build), curl and /usr/bin/time.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const { AbortController, fetch } = globalThis;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const at = (flag, dflt) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : dflt);

/** The stand-in Kandji API and S3 sink, in this process; prints the two ports. */
async function serve() {
  let n = 0;
  const id = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  const sizes = new Map();
  const json = (res, status, v) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(v));
  const sink = createServer((req, res) => {
    let size = 0;
    req.on('data', (c) => (size += c.length));
    req.on('end', () => {
      sizes.set('last', size);
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => sink.listen(0, '127.0.0.1', r));
  const api = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const p = new URL(req.url, 'http://x').pathname;
      const list = { count: 0, next: null, previous: null, results: [] };
      if (p === '/sink-bytes') return json(res, 200, sizes.get('last') ?? 0);
      if (req.method === 'GET' && p === '/api/v1/blueprints') return json(res, 200, { ...list, count: 1, results: [{ id: 'bp-1', name: 'Macs', type: 'classic' }] });
      if (req.method === 'GET') return json(res, 200, list);
      if (p.endsWith('/upload')) return json(res, 201, { post_url: `http://127.0.0.1:${sink.address().port}/bucket`, post_data: { key: 'k/aiwatch_0a0b0c0d.pkg', policy: 'p', 'x-amz-signature': 's' }, file_key: 'k/aiwatch_0a0b0c0d.pkg', expires: new Date(Date.now() + 9e5).toISOString() });
      if (p.endsWith('/assign-library-item')) return json(res, 200, []);
      if (p === '/api/v1/library/custom-apps') return json(res, 201, { id: id(), name: 'aiwatch — agent', file_key: 'k/aiwatch_0a0b0c0d.pkg' });
      return json(res, 201, { id: id(), name: 'p', profile: '' });
    });
  });
  await new Promise((r) => api.listen(0, '127.0.0.1', r));
  console.log(`${api.address().port} ${sink.address().port}`);
}

/** The driver applying one target with the pkg `file` (size read from disk). */
async function client(file, apiPort) {
  const { kandjiDriver } = await import(path.join(root, 'dist/mdm/kandji/driver.js'));
  const { loadDefaultSpec } = await import(path.join(root, 'dist/config/spec.js'));
  const { Secret } = await import(path.join(root, 'dist/secret.js'));
  const size = Number(spawnSync('stat', ['-c', '%s', file], { encoding: 'utf8' }).stdout.trim());
  const plist = (name) => Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict><key>PayloadDisplayName</key><string>${name}</string></dict></plist>\n`);
  const release = {
    version: '1.2.0',
    spec: loadDefaultSpec(),
    pkg: { fileName: 'aiwatch-1.2.0-macos-arm64.pkg', size, sha256: '0'.repeat(64), sha512: '0'.repeat(128), md5: '0'.repeat(32), read: () => createReadStream(file, { highWaterMark: 1 << 20 }) },
    profiles: { pppc: plist('PPPC'), loginItems: plist('Login items') },
    trust: { developerIdSigned: true, notarizedStapled: true, pppcMatchesBinary: true, problems: [] },
  };
  const target = { name: 'bench', mdm: 'kandji', url: `http://127.0.0.1:${apiPort}`, credentials: { apiToken: new Secret('00000000-0000-4000-8000-000000000000', 'apiToken') }, tenant: { Host: 'https://acme.runlayer.com', OrgApiKey: new Secret('rl_org_BenchKey0123456789', 'OrgApiKey') }, scope: { group: 'Macs' }, testServer: true, options: {} };
  const session = await kandjiDriver.connect(target, release, { signal: new AbortController().signal });
  for (const o of await session.plan()) if (o.action === 'create' || o.action === 'update') await session.apply(o);
  const c = session.counts();
  if (c.uploadedBytes !== size) throw new Error(`uploaded ${c.uploadedBytes} bytes, expected ${size}`);
}

async function sinkBytes(apiPort) {
  return (await fetch(`http://127.0.0.1:${apiPort}/sink-bytes`)).json();
}

function timed(cmd, args) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.slice(-2000)}`);
  const [wall, user, sys, kb] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { wall, cpu: user + sys, rssMiB: kb / 1024 };
}

if (argv[0] === '--serve') await serve();
else if (argv[0] === '--client') await client(argv[1], Number(argv[2]));
else {
  const mib = Number(at('--mib', '1024'));
  const dir = at('--dir', path.join(os.tmpdir(), 'aiwatch-bench-kandji'));
  if (!existsSync(path.join(root, 'dist/mdm/kandji/driver.js'))) throw new Error('dist/ is missing: npm run build');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `pkg-${mib}.bin`);
  if (!existsSync(file)) {
    const fd = openSync(file, 'w');
    const block = randomBytes(1 << 20);
    for (let i = 0; i < mib; i++) writeSync(fd, block);
    closeSync(fd);
  }
  const server = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [apiPort, sinkPort] = await new Promise((r) => server.stdout.once('data', (d) => r(String(d).trim().split(' ').map(Number))));
  try {
    const ours = timed(process.execPath, [fileURLToPath(import.meta.url), '--client', file, String(apiPort)]);
    const oursBytes = await sinkBytes(apiPort);
    const curl = timed('curl', ['-sS', '-o', '/dev/null', '-F', 'key=k', '-F', `file=@${file}`, `http://127.0.0.1:${sinkPort}/bucket`]);
    console.log(`pkg ${mib} MiB; the S3 sink received ${oursBytes} bytes from the driver, ${await sinkBytes(apiPort)} from curl`);
    console.log(`kandji driver apply : ${ours.wall.toFixed(1)} s wall, ${ours.cpu.toFixed(1)} CPU-s, ${ours.rssMiB.toFixed(0)} MiB peak RSS`);
    console.log(`curl -F (same sink) : ${curl.wall.toFixed(1)} s wall, ${curl.cpu.toFixed(1)} CPU-s, ${curl.rssMiB.toFixed(0)} MiB peak RSS`);
  } finally {
    server.kill();
    if (!argv.includes('--keep')) rmSync(file, { force: true });
  }
}
