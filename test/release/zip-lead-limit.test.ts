/**
 * A laid-out pkg too large to lead a zip32 (2 GiB, src/formats/zip.ts ZIP_LEAD_LIMIT) is hashed first and written by
 * writeZip in name order instead of first: here the limit is 0, so the demo build takes that path. The release lists
 * the same entries with the same bytes as the pkg-first zip, and its SHA256SUMS and manifest name the pkg's real hash.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { readZip } from '../../src/formats/zip.js';
import { buildRelease, type ReleaseOptions } from '../../src/release/release.js';
import { demoArm64Path, tempDir } from './build-helpers.js';

const lead = vi.hoisted(() => ({ limit: undefined as number | undefined }));
vi.mock('../../src/formats/zip.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/formats/zip.js')>();
  return {
    ...real,
    get ZIP_LEAD_LIMIT() {
      return lead.limit ?? real.ZIP_LEAD_LIMIT;
    },
  };
});

const base = tempDir('zip-lead-limit');
const options = (outDir: string): ReleaseOptions => ({ spec: loadDefaultSpec(), version: '1.0.0', arch: 'arm64', binary: demoArm64Path, outDir, epoch: 1700000000, builderVersion: '0.1.0', developmentBuild: true });

async function entries(dir: string): Promise<{ file: string; list: { name: string; data: string }[] }> {
  const file = path.join(dir, readdirSync(dir).find((n) => n.endsWith('.zip'))!);
  return { file, list: (await readZip(file, () => true)).map((e) => ({ name: e.name, data: e.data!.toString('hex') })) };
}

describe('release zip: a laid-out pkg over the lead limit', () => {
  it('is hashed first and written in name order; the entries and their bytes are those of the pkg-first zip', async () => {
    const first = path.join(base, 'first');
    await buildRelease(options(first));
    lead.limit = 0;
    const ordered = path.join(base, 'ordered');
    try {
      await buildRelease(options(ordered));
    } finally {
      lead.limit = undefined;
    }
    const [a, b] = [await entries(first), await entries(ordered)];
    expect(b.list).toEqual(a.list);
    // name order in the data too: the pkg's local entry is not the first
    expect(readFileSync(b.file).toString('utf8', 30, 40)).toBe('README.txt');
    expect(readFileSync(a.file).toString('utf8', 30, 37)).toBe('aiwatch');
    const pkg = b.list.find((e) => e.name.endsWith('.pkg'))!;
    const sha = createHash('sha256').update(Buffer.from(pkg.data, 'hex')).digest('hex');
    expect(Buffer.from(b.list.find((e) => e.name === 'SHA256SUMS')!.data, 'hex').toString()).toContain(`${sha}  ${pkg.name}`);
  });
});
