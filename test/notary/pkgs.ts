/**
 * Packages for the notary tests: a xar written by bsdtar (libarchive, not our writer) holding `size` random bytes,
 * unsigned, or signed by the published DEMO key (test/verify/release-fixture.ts: RSA and CMS over the TOC
 * checksum, not an Apple identity) — what `notarize` checks locally before it uploads anything.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run } from '../helpers/tools.js';
import { signPkg } from '../verify/release-fixture.js';

/** An unsigned xar with a Distribution and `size` random bytes of payload, at `out`. */
export function unsignedPkg(out: string, size = 50_000): string {
  const src = mkdtempSync(path.join(tmpdir(), 'aiwatch-notary-pkg-'));
  mkdirSync(path.join(src, 'aiwatch.pkg'));
  writeFileSync(path.join(src, 'Distribution'), '<installer-gui-script minSpecVersion="2"/>\n');
  writeFileSync(path.join(src, 'aiwatch.pkg', 'Payload'), randomBytes(size));
  run('bsdtar', ['--format', 'xar', '-cf', out, '-C', src, 'Distribution', 'aiwatch.pkg']);
  return out;
}

/** The same, signed by the DEMO key (not Apple's: the notary would answer Invalid, a local one does not care). */
export async function signedPkg(out: string, size = 50_000): Promise<string> {
  const raw = unsignedPkg(`${out}.unsigned`, size);
  return signPkg(raw, out);
}
