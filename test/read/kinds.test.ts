/**
 * One file-kind detection table (src/read/kinds.ts) for verify and inspect: each command takes the first kind it
 * handles, in the table's order, so the two agree wherever both handle a file.
 */
import { describe, expect, it } from 'vitest';
import { detectInspectKind } from '../../src/inspect/index.js';
import { detectKind, FILE_KINDS } from '../../src/read/kinds.js';
import { ARTIFACT_VERIFIERS } from '../../src/verify/registry.js';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
const XAR = bytes('xar!\0\x1c\0\x01');
const ZIP = bytes('PK\x03\x04');
const MACHO = Buffer.from([0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0, 0, 0x01]);
const PROFILE = bytes('<?xml version="1.0"?>\n<plist version="1.0"><dict><key>PayloadContent</key><array/></dict></plist>');

describe('the file-kind table', () => {
  it('is one list of distinct kinds', () => {
    expect(new Set(FILE_KINDS.map((k) => k.kind)).size).toBe(FILE_KINDS.length);
  });

  it('verify and inspect take the same kind where both handle it', () => {
    const both = [
      [XAR, 'a.pkg', 'pkg', 'pkg'],
      [XAR, 'named.intunewin', 'pkg', 'pkg'],
      [ZIP, 'x.intunewin', 'intunewin', 'intunewin'],
      [bytes('Write-Output 1\r\n'), 'Install.ps1', 'powershell-script', 'ps1'],
    ] as const;
    for (const [head, name, verifyKind, inspectKind] of both) {
      expect(detectKind(head, name, ARTIFACT_VERIFIERS.map((v) => v.kind)), name).toBe(verifyKind);
      expect(detectInspectKind(head, name), name).toBe(inspectKind);
    }
  });

  it('each command skips the kinds it does not handle', () => {
    expect(detectKind(MACHO, 'aiwatch', ARTIFACT_VERIFIERS.map((v) => v.kind))).toBeUndefined();
    expect(detectInspectKind(MACHO, 'aiwatch')).toBe('macho');
    expect(detectKind(PROFILE, 'p.mobileconfig', ARTIFACT_VERIFIERS.map((v) => v.kind))).toBe('mobileconfig');
    expect(detectInspectKind(PROFILE, 'p.mobileconfig')).toBe('profile');
    expect(detectInspectKind(ZIP, 'release.bin')).toBe('zip');
    expect(detectKind(ZIP, 'release.bin', ARTIFACT_VERIFIERS.map((v) => v.kind))).toBeUndefined();
  });
});
