import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputFileError, UsageError } from '../../src/errors.js';
import { comparePayloadPaths, layoutPayload, payloadStats, planPayload, planScripts } from '../../src/pkg/payload.js';

const bytes = (s: string) => ({ bytes: Buffer.from(s) });
const MTIME = 1_700_000_000;

describe('payload layout', () => {
  const entries = layoutPayload(
    [
      { path: '/usr/local/lib/runlayer/aiwatch/aiwatch', mode: 0o755, source: bytes('binary'), size: 6 },
      { path: 'Library/LaunchAgents/com.runlayer.aiwatch.plist', mode: 0o644, source: bytes('<plist/>'), size: 8 },
      { path: './usr/local/bin/aiwatch', kind: 'symlink', mode: 0o755, linkTarget: '../lib/runlayer/aiwatch/aiwatch', size: 0 },
      { path: 'usr/local/lib-extra/x', mode: 0o600, source: bytes(''), size: 0 },
      { path: 'Library/Application Support', kind: 'dir', mode: 0o775, size: 0 },
    ],
    { mtime: MTIME },
  );

  it("'.' first, every parent synthesised before its children, depth-first byte-wise order", () => {
    expect(entries.map((e) => e.path)).toEqual([
      '.',
      './Library',
      './Library/Application Support',
      './Library/LaunchAgents',
      './Library/LaunchAgents/com.runlayer.aiwatch.plist',
      './usr',
      './usr/local',
      './usr/local/bin',
      './usr/local/bin/aiwatch',
      './usr/local/lib',
      './usr/local/lib/runlayer',
      './usr/local/lib/runlayer/aiwatch',
      './usr/local/lib/runlayer/aiwatch/aiwatch',
      // '-' (0x2d) sorts after the end of the component "lib": a directory's contents come right after it.
      './usr/local/lib-extra',
      './usr/local/lib-extra/x',
    ]);
  });

  it('root ownership, injected mtime, synthesised dirs 0755, listed modes kept', () => {
    for (const e of entries) {
      expect([e.uid, e.gid, e.mtime]).toEqual([0, 0, MTIME]);
    }
    const by = new Map(entries.map((e) => [e.path, e]));
    expect(by.get('.')!.mode).toBe(0o755);
    expect(by.get('./usr/local')!.mode).toBe(0o755);
    expect(by.get('./Library/Application Support')!.mode).toBe(0o775);
    expect(by.get('./usr/local/lib-extra/x')!.mode).toBe(0o600);
    expect(by.get('./usr/local/bin/aiwatch')).toMatchObject({ kind: 'symlink', size: 31, nlink: 1 });
  });

  it('directories: nlink 2 + children, size 32 × nlink (APFS st_size)', () => {
    const by = new Map(entries.map((e) => [e.path, e]));
    expect(by.get('.')).toMatchObject({ nlink: 4, size: 128 });
    expect(by.get('./usr/local')).toMatchObject({ nlink: 5, size: 160 });
    expect(by.get('./Library/Application Support')).toMatchObject({ nlink: 2, size: 64 });
  });

  it('payloadStats: entries except ".", floor(Σ sizes / 1024)', () => {
    // Hand count of the 14 non-root entries: directories 128+64+96+96+160+96+96+96+96+96 = 1024 bytes, files and
    // the symlink 8+31+6+0 = 45 bytes; 1069 bytes → 1 KiB.
    expect(entries.filter((e) => e.path !== '.').reduce((a, e) => a + e.size, 0)).toBe(1069);
    expect(payloadStats(entries)).toEqual({ numberOfFiles: 14, installKBytes: 1 });
    const big = { ...entries[1]!, path: './big', kind: 'file' as const, size: 5 * 1024 * 1024 + 1023, nlink: 1 };
    expect(payloadStats([...entries, big])).toEqual({ numberOfFiles: 15, installKBytes: 5122 });
  });

  it('NFD-normalises names and sorts by NFD bytes', () => {
    const composed = 'caf\u00e9';
    const out = layoutPayload(
      [
        { path: `${composed}/z`, mode: 0o644, source: bytes('1'), size: 1 },
        { path: 'cafe\u0301x', mode: 0o644, source: bytes('2'), size: 1 },
        { path: 'cafe', mode: 0o644, source: bytes('3'), size: 1 },
      ],
      { mtime: 0 },
    );
    expect(out.map((e) => e.path)).toEqual(['.', './cafe', './cafe\u0301', './cafe\u0301/z', './cafe\u0301x']);
    expect(comparePayloadPaths('./a/b', './a-b')).toBeLessThan(0);
    expect(comparePayloadPaths('./a', './a/b')).toBeLessThan(0);
  });

  it('reports every bad input at once in one UsageError', () => {
    let err: unknown;
    try {
      layoutPayload(
        [
          { path: 'a//b', mode: 0o644, source: bytes('x'), size: 1 },
          { path: '../etc/passwd', mode: 0o644, source: bytes('x'), size: 1 },
          { path: 'x', mode: 0o10000, source: bytes('x'), size: 1 },
          { path: 'file', mode: 0o644, source: bytes('x'), size: 1 },
          { path: 'file/child', mode: 0o644, source: bytes('x'), size: 1 },
          { path: 'dup\u00e9', mode: 0o644, source: bytes('x'), size: 1 },
          { path: 'dupe\u0301', mode: 0o644, source: bytes('x'), size: 1 },
          { path: 'nosrc', mode: 0o644, size: 0 },
          { path: 'big', mode: 0o644, source: { file: '/dev/null' }, size: 2 ** 32 },
        ],
        { mtime: 0 },
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    const problems = (err as UsageError).problems;
    expect(problems).toHaveLength(7);
    expect(problems.join('\n')).toMatch(/"a\/\/b": path has an empty component/);
    expect(problems.join('\n')).toMatch(/"\.\.\/etc\/passwd": path has a "\." or "\.\." component/);
    expect(problems.join('\n')).toMatch(/"x": mode must be an integer 0…0o7777, got 4096/);
    expect(problems.join('\n')).toMatch(/"\.\/file\/child": its parent "\.\/file" is listed as a file/);
    expect(problems.join('\n')).toMatch(/listed twice/);
    expect(problems.join('\n')).toMatch(/"nosrc": a file needs a source/);
    expect(problems.join('\n')).toMatch(/"big": file is 4294967296 bytes/);
  });

  it('rejects an mtime the Bom cannot hold', () => {
    expect(() => layoutPayload([], { mtime: -1 })).toThrow(UsageError);
    expect(() => layoutPayload([], { mtime: 2 ** 32 })).toThrow(/SOURCE_DATE_EPOCH/);
    expect(layoutPayload([], { mtime: 5 }).map((e) => e.path)).toEqual(['.']);
  });
});

describe('planPayload / planScripts', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'payload-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stats file sources; a missing source is an InputFileError naming it', async () => {
    const f = path.join(dir, 'bin');
    writeFileSync(f, Buffer.alloc(3000, 1));
    const entries = await planPayload([{ path: 'usr/bin/x', mode: 0o755, source: { file: f } }], { mtime: 1 });
    expect(entries.at(-1)).toMatchObject({ path: './usr/bin/x', size: 3000, source: { file: f } });
    await expect(planPayload([{ path: 'y', mode: 0o644, source: { file: path.join(dir, 'missing') } }], { mtime: 1 })).rejects.toThrow(
      InputFileError,
    );
  });

  it('scripts: flat 0755 files under "."', async () => {
    const entries = await planScripts([{ name: 'preinstall', source: bytes('#!/bin/sh\n') }, { name: 'postinstall', source: bytes('#!/bin/sh\nexit 0\n') }], {
      mtime: 7,
    });
    expect(entries.map((e) => [e.path, e.mode.toString(8), e.size])).toEqual([
      ['.', '755', 128],
      ['./postinstall', '755', 17],
      ['./preinstall', '755', 10],
    ]);
    await expect(planScripts([{ name: 'a/b', source: bytes('') }], { mtime: 7 })).rejects.toThrow(/plain file name, got "a\/b"/);
  });
});
