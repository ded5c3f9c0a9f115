/**
 * Bad input and faults of `build`: each gives one clear message naming the input, the exit code of README's table
 * (UsageError 2, InputFileError/OutputError 3, interrupted 130) and leaves no zip, pkg or temporary file behind —
 * neither in --out nor in TMPDIR (a private one per test, so nothing else on the machine can hide a leak).
 *
 * Disk full is tested twice: for real on a tiny tmpfs when this runs as root and `mount -t tmpfs` works (the
 * "tmpfs" tests), and always by simulation (a builder whose write fails with ENOSPC, and a zip stream that fails).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { InterruptedError, OutputError } from '../../src/errors.js';
import { writeStreamAtomic } from '../../src/io/fs.js';
import { buildRelease, type ReleaseOptions } from '../../src/release/release.js';
import { benchBinary } from '../../scripts/make-bench-binary.js';
import { treeSitterPrebuild } from '../pkg/macho-helpers.js';
import { CLI, cli, demoArm64Path, demoX8664Path, listTree, repoRoot, spawnCli, tempDir } from './build-helpers.js';

/** When on, the zip writer writes a little and then fails like a full disk (see the simulated disk-full tests). */
const zipFault = vi.hoisted(() => ({ on: false }));
vi.mock('../../src/formats/zip.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/formats/zip.js')>();
  const fail = async (out: Writable): Promise<void> => {
    out.write(Buffer.alloc(1000));
    out.emit('error', Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' }));
    await new Promise(() => undefined);
  };
  // Both writers: the release writes its laid-out pkg first (writeZipLeading), a pkg file with writeZip.
  return {
    ...real,
    writeZip: async (entries: Parameters<typeof real.writeZip>[0], epoch: number, out: Writable): Promise<void> => (zipFault.on ? fail(out) : real.writeZip(entries, epoch, out)),
    writeZipLeading: async (lead: Parameters<typeof real.writeZipLeading>[0], rest: Parameters<typeof real.writeZipLeading>[1], epoch: number, out: Writable): Promise<void> =>
      zipFault.on ? fail(out) : real.writeZipLeading(lead, rest, epoch, out),
  };
});

const base = tempDir('faults');
const spec = loadDefaultSpec();
const isRoot = process.getuid?.() === 0;
let tmp = '';
let n = 0;
const savedTmp = process.env.TMPDIR;

beforeEach(() => {
  n += 1;
  tmp = path.join(base, `tmp-${n}`);
  mkdirSync(tmp);
  process.env.TMPDIR = tmp;
});
afterAll(() => {
  process.env.TMPDIR = savedTmp;
});

/** Run `build …argv --out <fresh>` in this process: the exit code, the one error line, and nothing left anywhere. */
async function fault(argv: string[], code: number, message: string | RegExp, out = path.join(base, `out-${n}`)): Promise<void> {
  const r = await cli(['build', ...argv, '--out', out]);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('aiwatch-deploy:'));
  expect(errors).toHaveLength(1);
  if (typeof message === 'string') expect(errors[0]).toBe(`aiwatch-deploy: ${message}`);
  else expect(errors[0]).toMatch(message);
  expect(r.code).toBe(code);
  expect(existsSync(out) ? listTree(out) : []).toEqual([]);
  expect(listTree(tmp)).toEqual([]);
}

/**
 * Permission faults need a process that file modes bind. Root ignores them through CAP_DAC_OVERRIDE and
 * CAP_DAC_READ_SEARCH, so as root (CI) the CLI runs under `setpriv` with those two capabilities removed from its
 * bounding set: still uid 0, but bound by chmod like any user. Otherwise it runs as it is.
 */
function spawnBoundByModes(argv: string[]): ReturnType<typeof spawnSync> {
  const cmd = [process.execPath, CLI, ...argv];
  const full = isRoot ? ['setpriv', '--bounding-set', '-dac_override,-dac_read_search', '--', ...cmd] : cmd;
  return spawnSync(full[0]!, full.slice(1), { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, TMPDIR: tmp, NODE_DISABLE_COMPILE_CACHE: '1' } });
}

async function permissionFault(argv: string[], message: string, out: string): Promise<void> {
  const r = spawnBoundByModes(['build', ...argv, '--out', out]);
  const errors = String(r.stderr).split('\n').filter((l) => l.startsWith('aiwatch-deploy:'));
  expect(errors).toEqual([`aiwatch-deploy: ${message}`]);
  expect(r.status).toBe(3);
  expect(existsSync(out) ? listTree(out) : []).toEqual([]);
  expect(listTree(tmp)).toEqual([]);
}

function file(name: string, data: string | Buffer, mode = 0o755): string {
  const p = path.join(base, name);
  writeFileSync(p, data, { mode });
  return p;
}

const NOT_MACHO = 'expected a macOS Mach-O executable';

describe('bad --binary', () => {
  it('missing', async () => {
    const p = path.join(base, 'no-such-binary');
    await fault(['--binary', p, '--version', '1.0.0'], 3, `${p}: --binary: no such file`);
  });

  it('unreadable (chmod 000; as root, under setpriv without the DAC override capabilities)', async () => {
    const p = file('unreadable', 'x', 0o000);
    chmodSync(p, 0o000);
    await permissionFault(['--binary', p, '--version', '1.0.0'], `${p}: --binary: not readable (permission denied (is the folder writable?))`, path.join(base, `out-${n}`));
  });

  it('a folder', async () => {
    const p = path.join(base, 'a-folder');
    mkdirSync(p);
    await fault(['--binary', p, '--version', '1.0.0'], 3, `${p}: --binary: is a folder, expected a file`);
  });

  it('ELF, PE, a script, an empty file', async () => {
    const elf = treeSitterPrebuild('linux-x64');
    await fault(['--binary', elf, '--version', '1.0.0'], 3, `${elf}: --binary: is an ELF 64-bit x86-64 file (Linux/Unix, not macOS); ${NOT_MACHO}`);
    const pe = treeSitterPrebuild('win32-x64');
    await fault(['--binary', pe, '--version', '1.0.0'], 3, `${pe}: --binary: is a Windows PE executable (x86-64); ${NOT_MACHO}`);
    const script = file('aiwatch.sh', '#!/bin/sh\nexec /opt/aiwatch "$@"\n');
    await fault(['--binary', script, '--version', '1.0.0'], 3, `${script}: --binary: is a script (#!/bin/sh), not a compiled program; ${NOT_MACHO}`);
    const empty = file('empty', '');
    await fault(['--binary', empty, '--version', '1.0.0'], 3, `${empty}: --binary: is empty (0 bytes); ${NOT_MACHO}`);
  });

  it('a thin binary of the wrong architecture', async () => {
    await fault(['--binary', demoX8664Path, '--version', '1.0.0', '--arch', 'arm64', '--development-build'], 3, `${demoX8664Path}: --binary: is a thin x86_64 binary; expected arm64 (or a universal binary with an arm64 slice)`);
  });
});

describe('bad --version and --out', () => {
  it('a version with a space or a slash is a usage error (exit 2)', async () => {
    const expected = (v: string): string => `--version ${JSON.stringify(v)} is not a version: expected digits and dots (1.4.0), optionally -prerelease or +build, without spaces or slashes`;
    await fault(['--demo', '--version', '1.0 beta'], 2, expected('1.0 beta'));
    await fault(['--demo', '--version', '1.0/../x'], 2, expected('1.0/../x'));
  });

  it('--out under a regular file, and --out that is a file: exit 3 before any work', async () => {
    const blocker = file('blocker', 'not a folder', 0o644);
    const steps: string[] = [];
    const under = path.join(blocker, 'out');
    await expect(buildRelease({ ...demoOptions(under), onStep: (s) => steps.push(s) })).rejects.toThrow(`${under}: --out: ${blocker} is a file, so no folder can be created under it`);
    expect(steps).toEqual([]);
    const r = await cli(['build', '--demo', '--out', blocker]);
    expect([r.code, r.stderr.trim()]).toEqual([3, `aiwatch-deploy: ${blocker}: --out: is a file, expected a folder to write into`]);
    expect(listTree(tmp)).toEqual([]);
  });

  it('a read-only --out folder (as root, under setpriv without the DAC override capabilities)', async () => {
    const ro = path.join(base, 'read-only');
    mkdirSync(ro, { mode: 0o555 });
    await permissionFault(['--demo'], `${ro}: --out: the folder is not writable (permission denied (is the folder writable?))`, ro);
  });
});

function demoOptions(outDir: string): ReleaseOptions {
  return { spec, version: '1.0.0', arch: 'arm64', binary: demoArm64Path, outDir, epoch: 1700000000, builderVersion: '0.1.0', developmentBuild: true };
}

describe('interrupted', () => {
  it('an AbortSignal aborted while the Payload is being compressed: InterruptedError, nothing left', async () => {
    const out = path.join(base, 'out-abort');
    const ac = new AbortController();
    const steps: string[] = [];
    const p = buildRelease({ ...demoOptions(out), signal: ac.signal, onStep: (s) => {
      steps.push(s);
      if (s === 'write Payload (cpio + gzip)') ac.abort();
    } });
    await expect(p).rejects.toBeInstanceOf(InterruptedError);
    await expect(p).rejects.toThrow('build interrupted; nothing was written to the output folder');
    expect(steps.at(-1)).toBe('write Payload (cpio + gzip)');
    expect(existsSync(out)).toBe(false);
    expect(listTree(tmp)).toEqual([]);
  });

  it('aborted as the zip is being written: no partial zip in --out', async () => {
    const out = path.join(base, 'out-abort-zip');
    const ac = new AbortController();
    const p = buildRelease({ ...demoOptions(out), signal: ac.signal, onStep: (s) => {
      if (s === 'write zip') queueMicrotask(() => ac.abort());
    } });
    await expect(p).rejects.toBeInstanceOf(InterruptedError);
    expect(existsSync(out) ? listTree(out) : []).toEqual([]);
    expect(listTree(tmp)).toEqual([]);
  });

  it('SIGINT to a spawned build during the Payload: exit 130, nothing in --out or TMPDIR', async () => {
    const work = path.join(base, 'sigint');
    const childTmp = path.join(work, 'tmp');
    mkdirSync(childTmp, { recursive: true });
    const big = path.join(work, 'aiwatch-48m');
    writeFileSync(big, benchBinary(48 * 1024 * 1024));
    let sent = false;
    const r = await spawnCli(['build', '--binary', big, '--arch', 'x86_64', '--version', '1.0.0', '--development-build', '--out', path.join(work, 'out')], {
      env: { ...process.env, TMPDIR: childTmp },
      onStderr: (all, kill) => {
        if (!sent && all.includes('write Payload (cpio + gzip)…')) {
          sent = true;
          kill('SIGINT');
        }
      },
    });
    expect(sent).toBe(true);
    expect(r.stderr).not.toContain('write Bom…');
    expect(r.stderr.trim().split('\n').at(-1)).toBe('aiwatch-deploy: build interrupted; nothing was written to the output folder');
    expect([r.code, r.signal]).toEqual([130, null]);
    expect(existsSync(path.join(work, 'out'))).toBe(false);
    // Node's compile cache (bin/aiwatch-deploy.js enables it) is a deliberate cache, not a leftover of the build.
    expect(readdirSync(childTmp).filter((f) => f !== 'node-compile-cache')).toEqual([]);
  });
});

/** The error a full disk gives. */
const enospc = (): NodeJS.ErrnoException => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });

describe('disk full (simulated: works as any user)', () => {
  it('while staging the pkg in TMPDIR: OutputError (exit 3) naming TMPDIR, nothing left', async () => {
    const out = path.join(base, 'out-sim-stage');
    const p = buildRelease({ ...demoOptions(out), packageBuilder: async (_input, pkgFile) => {
      writeFileSync(pkgFile, 'partial');
      throw enospc();
    } });
    await expect(p).rejects.toBeInstanceOf(OutputError);
    await expect(p).rejects.toThrow(`${tmp}: cannot write the build's temporary files (no space left on the device); free space there or point TMPDIR at a folder with room for about twice the binary`);
    expect(existsSync(out)).toBe(false);
    expect(listTree(tmp)).toEqual([]);
  });

  it('while writing the zip into --out: the failing stream goes through writeStreamAtomic, no partial zip', async () => {
    const out = path.join(base, 'out-sim-zip');
    zipFault.on = true;
    try {
      const p = buildRelease(demoOptions(out));
      await expect(p).rejects.toThrow(`${path.join(out, 'aiwatch-1.0.0-macos-arm64.zip')}: cannot write: no space left on the device`);
      await expect(p).rejects.toMatchObject({ exitCode: 3 });
    } finally {
      zipFault.on = false;
    }
    expect(listTree(out)).toEqual([]);
    expect(listTree(tmp)).toEqual([]);
  });
});

describe('atomic writes', () => {
  it('a producer that fails at once leaves no partial file, even while the temp file is still being opened', async () => {
    const dir = path.join(base, 'atomic');
    mkdirSync(dir);
    for (let i = 0; i < 200; i++) {
      await expect(writeStreamAtomic(path.join(dir, `f${i}.zip`), () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    }
    await new Promise((r) => setTimeout(r, 50)); // a late open() would create its file about now
    expect(readdirSync(dir)).toEqual([]);
  });
});

/** Mount a tmpfs of `size` at a fresh folder; undefined when this process may not. */
function tinyTmpfs(size: string): string | undefined {
  if (!isRoot || process.platform !== 'linux') return undefined;
  const dir = path.join(base, `tmpfs-${size}-${n}`);
  mkdirSync(dir);
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]).status === 0 ? dir : undefined;
}
const canMount = ((): boolean => {
  const d = tinyTmpfs('64k');
  if (d) spawnSync('umount', [d]);
  return d !== undefined;
})();

describe.runIf(canMount)('disk full (real: a tiny tmpfs, as root)', () => {
  it('--out on a 16 KiB tmpfs: exit 3, the message says so, no partial zip', async () => {
    const mnt = tinyTmpfs('16k')!;
    try {
      const out = path.join(mnt, 'out');
      const r = await cli(['build', '--demo', '--out', out]);
      expect(r.stderr.trim().split('\n').at(-1)).toBe(`aiwatch-deploy: ${path.join(out, 'aiwatch-1.0.0-macos-arm64.zip')}: cannot write: no space left on the device`);
      expect(r.code).toBe(3);
      expect(readdirSync(out)).toEqual([]);
      expect(listTree(tmp)).toEqual([]);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });

  it('TMPDIR on a 64 KiB tmpfs, filled while the Payload is written: exit 3 naming TMPDIR', async () => {
    const mnt = tinyTmpfs('64k')!;
    try {
      const bin = path.join(base, 'aiwatch-1m');
      writeFileSync(bin, benchBinary(1024 * 1024));
      const out = path.join(base, 'out-tmpfs');
      process.env.TMPDIR = mnt; // os.tmpdir() reads it at each build
      const r = await cli(['build', '--binary', bin, '--arch', 'x86_64', '--version', '1.0.0', '--development-build', '--out', out]);
      expect(r.stderr).toContain('write Payload (cpio + gzip)…');
      expect(r.stderr.trim().split('\n').at(-1)).toBe(`aiwatch-deploy: ${mnt}: cannot write the build's temporary files (no space left on the device); free space there or point TMPDIR at a folder with room for about twice the binary`);
      expect(r.code).toBe(3);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(mnt)).toEqual([]);
    } finally {
      process.env.TMPDIR = tmp;
      spawnSync('umount', [mnt]);
    }
  });
});
