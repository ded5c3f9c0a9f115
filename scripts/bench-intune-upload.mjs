/**
 * Runnable alone (issue 12): the client-side cost of the Intune content upload for a 1 GiB pkg — our content flow's
 * two streamed encryption passes (dist/mdm/intune/encrypt.js: MAC pass, then HMAC ‖ IV ‖ AES-256-CBC) cut into
 * 8 MiB Put Blocks sent by our HTTP client (dist/net/http.js) — against `curl -T` of the plain file, both to the same
 * local sink on 127.0.0.1 (its own process; it counts and discards bodies, answers 201). Reported per client: wall,
 * CPU (user + system) and peak RSS by /usr/bin/time. Graph's own requests (a few small JSON calls) and Azure
 * Storage's cost are not in it: the end-to-end run against the local Graph server with Azurite is test/publish/intune*.
 *
 *   node scripts/bench-intune-upload.mjs                 # 1024 MiB
 *   node scripts/bench-intune-upload.mjs --mib 256 --dir /tmp/aiwatch-bench
 *
 * Needs dist/ (npm run build), curl and /usr/bin/time.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const at = (flag, dflt) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : dflt);
const mib = Number(at('--mib', '1024'));
const dir = at('--dir', path.join(os.tmpdir(), 'aiwatch-bench-intune'));

const SINK = `import { createServer } from 'node:http';
const s = createServer((req, res) => { req.on('data', () => {}); req.on('end', () => res.writeHead(201).end()); });
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;

const CLIENT = `import { createReadStream } from 'node:fs';
import { blockId, blocksOf, encryptedStream, measure, newContentKeys } from ${JSON.stringify(path.join(root, 'dist/mdm/intune/encrypt.js'))};
import { requestBytes } from ${JSON.stringify(path.join(root, 'dist/net/http.js'))};
const [file, url] = process.argv.slice(2);
const read = () => createReadStream(file, { highWaterMark: 1 << 20 });
const keys = newContentKeys();
const { mac } = await measure(read, keys);
let i = 0;
for await (const b of blocksOf(encryptedStream(read, keys, mac), 8 << 20)) {
  const a = await requestBytes({ url: url + '?sig=x&comp=block&blockid=' + encodeURIComponent(blockId(i++)), method: 'PUT', body: b }, {}, { where: 'bench' });
  if (a.status !== 201) throw new Error('HTTP ' + a.status);
}`;

function timed(cmd, args) {
  const report = path.join(dir, 'time.txt');
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-o', report, '-f', '%U %S %M', cmd, ...args], { encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  const [u, s, kb] = readFileSync(report, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  return { wallS: +wall.toFixed(2), cpuS: +(u + s).toFixed(2), peakRssMiB: +(kb / 1024).toFixed(0), MiBps: +(mib / wall).toFixed(0) };
}

export async function benchIntuneUpload() {
  if (!existsSync(path.join(root, 'dist/mdm/intune/encrypt.js'))) throw new Error('dist/ is missing: npm run build');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `pkg-${mib}.bin`);
  if (!existsSync(file)) {
    const fd = openSync(file, 'w', 0o600);
    for (let i = 0; i < mib; i += 1) writeSync(fd, randomBytes(1 << 20));
    closeSync(fd);
  }
  const sink = spawn(process.execPath, ['--input-type=module', '-e', SINK], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve) => sink.stdout.once('data', (d) => resolve(String(d).trim())));
  const url = `http://127.0.0.1:${port}/blob`;
  try {
    const clientFile = path.join(dir, 'client.mjs');
    const fd = openSync(clientFile, 'w');
    writeSync(fd, CLIENT);
    closeSync(fd);
    const ours = timed(process.execPath, [clientFile, file, url]);
    const curl = timed('curl', ['-s', '-f', '-o', '/dev/null', '-T', file, url]);
    console.log(`intune upload ${mib} MiB (encrypt + 8 MiB Put Blocks) vs curl -T, local sink:`);
    console.log(`  ours: ${JSON.stringify(ours)}`);
    console.log(`  curl: ${JSON.stringify(curl)}`);
  } finally {
    sink.kill();
    if (!argv.includes('--keep')) rmSync(file, { force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await benchIntuneUpload();
