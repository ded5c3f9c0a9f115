/**
 * A problem's place as data (src/errors.ts ProblemPlace): `where` is derived from it, `--json` and the printed
 * form stay `{where, message}`, and the xar check places a damaged member's problem at that member (what
 * verify/pkg.ts reads to skip it, instead of cutting the `where` string apart).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { build } from '../../scripts/make-hostile.mjs';
import { placeText, problemAt } from '../../src/errors.js';
import { readPlist } from '../../src/formats/plist-read.js';
import { verifyXar } from '../../src/pkg/xar-verify.js';

const dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-place-'));

/** A pkg whose Distribution's TOC <size> says 2 bytes while it decodes to 4: the xar check finds the member damaged. */
function damagedDistribution(name: string): string {
  const ok = build.pkgBytes([{ path: 'Distribution', bytes: Buffer.from('<a/>'), zlib: true }]);
  const xml = zlib.inflateSync(ok.subarray(28, 28 + Number(ok.readBigUInt64BE(8)))).toString().replace('<size>4</size>', '<size>2</size>');
  const heap = ok.subarray(28 + Number(ok.readBigUInt64BE(8)) + 20);
  const f = path.join(dir, name);
  writeFileSync(f, build.xarBytes(xml.slice(xml.indexOf('<file'), xml.lastIndexOf('</file>') + 7), heap));
  return f;
}

describe('problem places', () => {
  it('where is derived from the place; the place is data, not part of the JSON', () => {
    const p = problemAt({ file: 'r.zip:aiwatch.pkg', member: 'aiwatch.pkg/Payload', path: './usr/local/bin/x' }, 'bad');
    expect(p.where).toBe('r.zip:aiwatch.pkg:aiwatch.pkg/Payload:./usr/local/bin/x');
    expect(p.at).toEqual({ file: 'r.zip:aiwatch.pkg', member: 'aiwatch.pkg/Payload', path: './usr/local/bin/x' });
    expect(JSON.stringify(p)).toBe('{"where":"r.zip:aiwatch.pkg:aiwatch.pkg/Payload:./usr/local/bin/x","message":"bad"}');
    expect(placeText({ file: 'a.pkg' })).toBe('a.pkg');
  });

  it('the xar check places a damaged member problem at that member', async () => {
    const f = damagedDistribution('damaged.pkg');
    const [p] = await verifyXar(f);
    expect(p?.at).toEqual({ file: f, member: 'Distribution' });
  });

  it('the plist reader places a problem at its key path (what inspect shows of a profile)', () => {
    const { problems } = readPlist('<plist><dict><key>A</key><integer>x</integer></dict></plist>', 'p.mobileconfig');
    expect(problems.map((p) => p.at)).toEqual([{ file: 'p.mobileconfig', path: 'A' }]);
    expect(problems[0]!.where).toBe('p.mobileconfig:A');
  });
});
