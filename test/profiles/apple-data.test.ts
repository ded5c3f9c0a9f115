/**
 * The shipped Apple payload data (data/apple-device-management/) is what scripts/derive-apple-schemas.mjs derives
 * from apple/device-management's YAML: a regeneration check, not an interop test.
 *  - The script run on the verbatim copy of the pinned release's mdm/profiles in test/fixtures (all 128 YAML files,
 *    test data only, not shipped) gives the shipped file byte for byte; it is deterministic; it copies Apple's notice.
 *  - With $AIWATCH_APPLE_DM_DIR naming another checkout (a newer release, before updating the fixture and the data),
 *    the same check runs against it too.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { APPLE_DATA_FILE, APPLE_DM_ENV } from '../../src/profiles/apple-yaml.js';
import { APPLE_DM_FIXTURE } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = path.join(ROOT, 'scripts', 'derive-apple-schemas.mjs');
const DATA_DIR = path.dirname(APPLE_DATA_FILE);
const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

function derive(args: string[]): { status: number | null; stdout: string; stderr: string; out: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'apple-derive-'));
  temps.push(dir);
  const out = path.join(dir, 'payload-schemas.json');
  const r = spawnSync(process.execPath, [SCRIPT, ...args, '--out', out], { encoding: 'utf8', cwd: dir });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, out };
}

interface Entry {
  file: string;
}
const entries = (text: string): Map<string, string> =>
  new Map((JSON.parse(text) as { schemas: Entry[] }).schemas.map((s) => [s.file, JSON.stringify(s)]));

describe('data/apple-device-management/payload-schemas.json', () => {
  it('ships with Apple\'s MIT notice and the source it was derived from', () => {
    expect(readFileSync(path.join(DATA_DIR, 'LICENSE.txt'), 'utf8')).toBe(readFileSync(path.join(APPLE_DM_FIXTURE, 'LICENSE.txt'), 'utf8'));
    const source = readFileSync(path.join(DATA_DIR, 'SOURCE.txt'), 'utf8');
    expect(source).toContain('https://github.com/apple/device-management');
    expect(source).toContain('b6202ca2fbd31286a52eb160b67a4db7b4fe1f1f');
  });

  it('the complete YAML copy in test/fixtures derives to the shipped file byte for byte, each schema too', () => {
    const r = derive([APPLE_DM_FIXTURE]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const shipped = entries(readFileSync(APPLE_DATA_FILE, 'utf8'));
    const derived = entries(readFileSync(r.out, 'utf8'));
    expect(derived.size).toBe(128);
    for (const f of ['CommonPayloadKeys.yaml', 'TopLevel.yaml', 'com.apple.ManagedClient.preferences.yaml', 'com.apple.TCC.configuration-profile-policy.yaml', 'com.apple.servicemanagement.yaml']) {
      expect(derived.has(f), f).toBe(true);
    }
    for (const [file, json] of derived) expect(shipped.get(file), file).toBe(json);
    expect(readFileSync(r.out).equals(readFileSync(APPLE_DATA_FILE))).toBe(true);
    expect(readFileSync(path.join(path.dirname(r.out), 'LICENSE.txt'), 'utf8')).toBe(readFileSync(path.join(APPLE_DM_FIXTURE, 'LICENSE.txt'), 'utf8'));
    expect(r.stdout).toMatch(/^wrote .*payload-schemas\.json: 128 schemas, \d+ bytes\n/);
  });

  it('is deterministic: two runs give the same bytes, schemas sorted by file name', () => {
    const a = readFileSync(derive([APPLE_DM_FIXTURE]).out);
    const b = readFileSync(derive([APPLE_DM_FIXTURE]).out);
    expect(a.equals(b)).toBe(true);
    const files = [...entries(readFileSync(APPLE_DATA_FILE, 'utf8')).keys()];
    expect(files).toEqual([...files].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
  });

  it('a usage slip changes nothing: no folder (exit 2), a folder that is no checkout (exit 3)', () => {
    const none = derive([]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/^usage: node scripts\/derive-apple-schemas\.mjs <apple\/device-management checkout> \[--out <file>\]/);
    const empty = mkdtempSync(path.join(tmpdir(), 'apple-empty-'));
    temps.push(empty);
    const bad = derive([empty]);
    expect(bad.status).toBe(3);
    expect(bad.stderr).toContain('names no apple/device-management checkout');
    expect(existsSync(none.out) || existsSync(bad.out)).toBe(false);
  });

  const other = process.env[APPLE_DM_ENV];
  if (other) {
    it(`the checkout named by ${APPLE_DM_ENV} regenerates the shipped file byte for byte`, () => {
      const r = derive([other]);
      expect(r.status).toBe(0);
      expect(readFileSync(r.out).equals(readFileSync(APPLE_DATA_FILE))).toBe(true);
    });
  }
});
