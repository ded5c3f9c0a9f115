/** The build's progress: exact byte counts of the Payload step, and a bar only on a terminal. */
import { describe, expect, it } from 'vitest';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { buildRelease } from '../../src/release/release.js';
import { writeCpio } from '../../src/pkg/cpio.js';
import { installFiles } from '../../src/release/package.js';
import { planPayload } from '../../src/pkg/payload.js';
import { cli, demoArm64Path, tempDir } from './build-helpers.js';

describe('build progress', () => {
  it('reports the Payload step in bytes of the cpio stream, ending exactly at its size', async () => {
    const spec = loadDefaultSpec();
    const calls: Array<[number, number]> = [];
    await buildRelease({ spec, version: '1.0.0', arch: 'arm64', binary: demoArm64Path, outDir: tempDir('progress'), epoch: 1700000000, builderVersion: '0.1.0', developmentBuild: true, onProgress: (d, t) => calls.push([d, t]) });
    let cpioBytes = 0;
    for await (const c of writeCpio(await planPayload(installFiles(spec, demoArm64Path), { mtime: 1700000000 }))) cpioBytes += c.length;
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.at(-1)).toEqual([cpioBytes, cpioBytes]);
    for (let i = 1; i < calls.length; i++) expect(calls[i]![0]).toBeGreaterThanOrEqual(calls[i - 1]![0]);
  });

  it('draws a bar on a terminal, and none with --json or without a terminal', async () => {
    const tty = await cli(['build', '--demo', '--out', tempDir('progress-tty')], { isTTY: true });
    expect(tty.code).toBe(0);
    expect(tty.stderr).toMatch(/compress payload \[[^\]]*\] 100%/);
    const plain = await cli(['build', '--demo', '--out', tempDir('progress-plain')]);
    expect(plain.stderr).not.toContain('compress payload [');
    const json = await cli(['build', '--demo', '--json', '--out', tempDir('progress-json')], { isTTY: true });
    expect(json.stderr).toBe('');
  });
});
