/**
 * The build reads the agent binary once (issue 14): the release check's page hashes and SHA-256 are fed by the
 * Payload's cpio read. What the headers and signature decide is still refused before anything is built; a binary
 * whose bytes no longer match its signature is refused once that read is done — in the same words as before, with
 * nothing left in --out or TMPDIR either way.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { checkReleaseBinary } from '../../src/sign/binary-check.js';
import { cli, demoArm64Path, listTree, tempDir } from './build-helpers.js';

const base = tempDir('one-pass');
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

/** The demo arm64 binary with one byte of its second code page flipped: its signature no longer matches. */
function tampered(): string {
  const bytes = Buffer.from(readFileSync(demoArm64Path));
  bytes.writeUInt8(bytes.readUInt8(4196) ^ 0xff, 4196);
  const file = path.join(base, `tampered-${n}`);
  writeFileSync(file, bytes, { mode: 0o755 });
  return file;
}

async function refused(argv: string[]): Promise<string> {
  const out = path.join(base, `out-${n}`);
  const r = await cli(['build', ...argv, '--version', '1.0.0', '--development-build', '--out', out]);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('aiwatch-deploy:'));
  expect(errors).toHaveLength(1);
  expect(r.code).toBe(3);
  expect(existsSync(out) ? listTree(out) : []).toEqual([]);
  expect(listTree(tmp)).toEqual([]);
  return errors[0]!;
}

describe('build: the binary check rides on the Payload read', () => {
  it('a page changed after signing is refused after that read, as the separate check words it', async () => {
    const bin = tampered();
    const separate = await checkReleaseBinary(bin, { arch: 'arm64', identifier: 'com.runlayer.aiwatch', teamId: 'AF2M8HC7A2', allowUnsigned: true, allowUntrustedSigner: true }).then(
      () => 'accepted',
      (e: Error) => e.message,
    );
    expect(separate).toMatch(/the code signature does not match the file \(page 1 hash differs\): the binary was changed after it was signed/);
    const line = await refused(['--binary', bin, '--arch', 'arm64']);
    expect(line).toBe(`aiwatch-deploy: ${separate}`);
  });

  it('a binary refused by its headers is refused before the Payload, the hash verdict listed too', async () => {
    const line = await refused(['--binary', tampered(), '--arch', 'x86_64']);
    expect(line).toMatch(/is a thin arm64 binary; expected x86_64/);
    expect(line).toMatch(/the code signature does not match the file \(page 1 hash differs\)/);
  });
});
