/**
 * The release input check: each refusal has its own test with its exact message, the accepted binaries return the
 * identity the manifest records, and a fuzzer checks that nothing but the typed error ever comes out.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it, onTestFinished } from 'vitest';
import { InputFileError } from '../../src/errors.js';
import { describeNonMachO } from '../../src/macho/non-macho.js';
import { checkReleaseBinary, checkReleaseBinaryBytes, ReleaseBinaryError, type ReleaseBinarySpec } from '../../src/sign/binary-check.js';
import { createUniversal } from '../../src/macho/lipo.js';
import { parseMachO } from '../../src/macho/macho.js';
import { buildDemoBinary, type DemoBinaryOptions } from '../../scripts/demo-binary/build.js';
import { demoArm64, demoArm64Path, demoX8664, repoRoot, treeSitterPrebuild } from './macho-helpers.js';

/** The demo binaries' DEMO signer is no Apple Developer ID: these tests are about everything else (test/sign/binary-trust.test.ts covers the signer). */
const SPEC: ReleaseBinarySpec = { arch: 'arm64', identifier: 'com.runlayer.aiwatch', teamId: 'AF2M8HC7A2', allowUntrustedSigner: true };
const DEMO_SIGNER = 'aiwatch-deploy DEMO signer (NOT Apple-issued, NOT a Developer ID)';
const EXPECTED_SIGNATURE = 'expected a Developer ID signature with identifier "com.runlayer.aiwatch" and team AF2M8HC7A2';

const demo = (o: Partial<DemoBinaryOptions> = {}): Buffer => buildDemoBinary({ arch: 'arm64', ...o });

/** The problems of a refused binary (fails the test if it is accepted or fails otherwise). */
function refusal(data: Uint8Array, spec: Partial<ReleaseBinarySpec> = {}): string[] {
  try {
    checkReleaseBinaryBytes(data, 'aiwatch', { ...SPEC, ...spec });
  } catch (e) {
    expect(e).toBeInstanceOf(ReleaseBinaryError);
    expect(e).toMatchObject({ exitCode: 3, file: 'aiwatch' });
    expect((e as Error).message).toBe(`aiwatch: ${(e as ReleaseBinaryError).problems.join('; ')}`);
    return (e as ReleaseBinaryError).problems;
  }
  throw new Error('the binary was accepted');
}

describe('accepted release binaries', () => {
  it('thin arm64 demo: the identity for the manifest', async () => {
    const id = await checkReleaseBinary(demoArm64Path, SPEC);
    const slice = parseMachO(demoArm64()).slices[0]!;
    expect(id).toEqual({
      size: 18944,
      sha256: createHash('sha256').update(demoArm64()).digest('hex'),
      universal: false,
      arches: ['arm64'],
      signature: 'signed',
      identifier: 'com.runlayer.aiwatch',
      teamId: 'AF2M8HC7A2',
      hardenedRuntime: true,
      developerId: false,
      notDeveloperId: `is signed by "${DEMO_SIGNER}", a certificate that does not chain to Apple Root CA ("${DEMO_SIGNER}" is self-signed or its issuer is not embedded)`,
      slices: [{
        arch: 'arm64', offset: 0, size: 18944, signature: 'signed', identifier: 'com.runlayer.aiwatch', teamId: 'AF2M8HC7A2',
        flags: 0x10000, flagNames: ['runtime'], hardenedRuntime: true, hashType: 'sha256',
        cdhash: slice.codeSignature!.codeDirectory!.cdhash, signer: DEMO_SIGNER,
        signerTrust: {
          signer: DEMO_SIGNER, chain: [DEMO_SIGNER], signatureVerifies: true, chainsToRoot: false, developerIdApplication: false, trusted: false,
          problem: `is signed by "${DEMO_SIGNER}", a certificate that does not chain to Apple Root CA ("${DEMO_SIGNER}" is self-signed or its issuer is not embedded)`,
        },
      }],
    });
    expect(id.slices[0]!.cdhash).toMatch(/^[0-9a-f]{40}$/);
  });

  it('a universal binary for `universal`, and for each architecture it contains', () => {
    const fat = createUniversal([{ name: 'a', data: demoArm64() }, { name: 'x', data: demoX8664() }]);
    for (const arch of ['universal', 'arm64', 'x86_64'] as const) {
      const id = checkReleaseBinaryBytes(fat, 'aiwatch', { ...SPEC, arch });
      expect([id.universal, id.arches, id.signature, id.slices.map((s) => s.offset)]).toEqual([true, ['x86_64', 'arm64'], 'signed', [0x1000, 0x4000]]);
    }
  });

  it('allowUnsigned accepts unsigned, ad-hoc and linker-signed builds and says which', () => {
    for (const signature of ['none', 'adhoc', 'linker-signed'] as const) {
      const id = checkReleaseBinaryBytes(demo({ signature }), 'aiwatch', { ...SPEC, allowUnsigned: true });
      expect(id.signature).toBe(signature === 'none' ? 'unsigned' : 'adhoc');
      expect(id.hardenedRuntime).toBe(false);
    }
  });

  it('accepts bytes without a name, and paths through readInputFile', async () => {
    await expect(checkReleaseBinary(demoArm64(), SPEC)).resolves.toMatchObject({ arches: ['arm64'] });
    await expect(checkReleaseBinary({ name: 'x', data: demoArm64() }, SPEC)).resolves.toMatchObject({ signature: 'signed' });
  });
});

describe('refusals: what differs, in words', () => {
  const notMachO = '; expected a macOS Mach-O executable';

  it('an empty file', () => {
    expect(refusal(Buffer.alloc(0))).toEqual([`--binary: is empty (0 bytes)${notMachO}`]);
  });

  it('an ELF binary (the Linux build by mistake)', () => {
    expect(refusal(readFileSync(treeSitterPrebuild('linux-x64')))).toEqual([`--binary: is an ELF 64-bit x86-64 file (Linux/Unix, not macOS)${notMachO}`]);
  });

  it('a Windows PE binary', () => {
    expect(refusal(readFileSync(treeSitterPrebuild('win32-x64')))).toEqual([`--binary: is a Windows PE executable (x86-64)${notMachO}`]);
  });

  it('a script', () => {
    expect(refusal(Buffer.from('#!/bin/sh\nexec /opt/aiwatch "$@"\n'))).toEqual([`--binary: is a script (#!/bin/sh), not a compiled program${notMachO}`]);
  });

  it('a package, an archive, something else', () => {
    expect(refusal(Buffer.from('xar!\0\x1c\0\x01'))).toEqual([`--binary: is a xar archive (a flat .pkg?), not the agent binary${notMachO}`]);
    expect(refusal(Buffer.from('PK\x03\x04rest'))).toEqual([`--binary: is a zip archive, not the agent binary${notMachO}`]);
    expect(refusal(Buffer.from('hello world'))).toEqual([`--binary: is not a Mach-O file (it starts with 68 65 6c 6c)${notMachO}`]);
  });

  it('a truncated Mach-O', () => {
    expect(refusal(demoArm64().subarray(0, 300))).toEqual(['--binary: load commands (576 bytes) run past the end of the image (300 bytes): truncated file?']);
  });

  it('a thin binary of the wrong architecture', () => {
    expect(refusal(demoX8664())).toEqual(['--binary: is a thin x86_64 binary; expected arm64 (or a universal binary with an arm64 slice)']);
    expect(refusal(demoArm64(), { arch: 'universal' })).toEqual(['--binary: is a thin arm64 binary; expected a universal binary with arm64 and x86_64 slices']);
  });

  it('a universal binary without the requested architecture', () => {
    const onlyX86 = createUniversal([{ name: 'x', data: demoX8664() }]);
    expect(refusal(onlyX86)).toEqual(['--binary: is a universal binary of x86_64, with no arm64 slice']);
    expect(refusal(onlyX86, { arch: 'universal' })).toEqual(['--binary: is a universal binary of x86_64, with no arm64 slice']);
  });

  it('arm64e is not arm64', () => {
    const e = demoArm64();
    e.writeUInt32LE(0x80000002, 8);
    expect(refusal(e)[0]).toBe('--binary: is a thin arm64e binary; expected arm64 (or a universal binary with an arm64 slice)');
  });

  it('not signed', () => {
    expect(refusal(demo({ signature: 'none' }))).toEqual([`--binary: is not code-signed (no LC_CODE_SIGNATURE); ${EXPECTED_SIGNATURE}`]);
  });

  it('ad-hoc signed (codesign -s -) and linker-signed (ld64 default on arm64)', () => {
    expect(refusal(demo({ signature: 'adhoc' }))).toEqual([`--binary: has only an ad-hoc signature (flags 0x2 adhoc, no CMS signature); ${EXPECTED_SIGNATURE}`]);
    expect(refusal(demo({ signature: 'linker-signed' }))).toEqual([`--binary: has only an ad-hoc signature (flags 0x20002 adhoc,linker-signed, no CMS signature); ${EXPECTED_SIGNATURE}`]);
  });

  it('another signing identifier', () => {
    expect(refusal(demo({ identifier: 'com.example.aiwatch' }))).toEqual([
      '--binary: signing identifier is "com.example.aiwatch", expected "com.runlayer.aiwatch" (the PPPC designated requirement pins it)',
    ]);
  });

  it('another team, and both wrong at once', () => {
    expect(refusal(demo({ teamId: 'Z9Y8X7W6V5' }))).toEqual(['--binary: team ID is Z9Y8X7W6V5, expected AF2M8HC7A2']);
    expect(refusal(demo({ identifier: 'aiwatch', teamId: 'Z9Y8X7W6V5' }))).toEqual([
      '--binary: signing identifier is "aiwatch", expected "com.runlayer.aiwatch" (the PPPC designated requirement pins it)',
      '--binary: team ID is Z9Y8X7W6V5, expected AF2M8HC7A2',
    ]);
  });

  it("a certificate whose team is not the CodeDirectory's", () => {
    expect(refusal(demo({ certificateTeamId: 'Z9Y8X7W6V5' }))).toEqual(["--binary: the signing certificate's team (OU Z9Y8X7W6V5) differs from the CodeDirectory's team AF2M8HC7A2"]);
  });

  it('signed without the hardened runtime', () => {
    expect(refusal(demo({ hardenedRuntime: false }))).toEqual(['--binary: is signed without the hardened runtime (flags 0x0); notarization requires it (codesign --options runtime)']);
  });

  it('changed after signing', () => {
    const b = demoArm64();
    b[0x262]! ^= 0xff;
    expect(refusal(b)).toEqual(['--binary: the code signature does not match the file (page 0 hash differs): the binary was changed after it was signed']);
  });

  it('a CMS signature that was made over another CodeDirectory', () => {
    const b = demoArm64();
    const sig = parseMachO(b).slices[0]!.codeSignature!;
    b.writeUInt32BE(0x000f0000, sig.dataoff + sig.codeDirectory!.offset + 88); // runtime version 14.0 → 15.0: not page-hashed
    expect(refusal(b)).toEqual(['--binary: the CMS signature was made over another CodeDirectory (its message digest differs): the signature was copied from another binary or the CodeDirectory was edited']);
  });

  it('a CMS blob that is not CMS', () => {
    const b = demoArm64();
    const sig = parseMachO(b).slices[0]!.codeSignature!;
    const cms = sig.blobs.find((x) => x.slotName === 'CMS signature')!;
    b.fill(0x41, sig.dataoff + cms.offset + 8, sig.dataoff + cms.offset + cms.length); // outside the hashed range
    const problems = refusal(b);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^--binary: the CMS signature blob is not readable CMS SignedData \(.+\)$/);
  });

  it('a bundle, not an executable (even when unsigned builds are allowed)', () => {
    expect(refusal(readFileSync(treeSitterPrebuild('darwin-arm64')), { allowUnsigned: true })).toEqual(['--binary: is a Mach-O bundle (MH_BUNDLE); expected an executable (MH_EXECUTE)']);
  });

  it('names the slice in a universal binary, and uses the caller\'s input name', () => {
    const fat = createUniversal([{ name: 'a', data: demoArm64() }, { name: 'x', data: demo({ arch: 'x86_64', signature: 'adhoc' }) }]);
    expect(refusal(fat, { arch: 'universal', what: 'release.binary' })).toEqual([
      `release.binary: x86_64 slice: has only an ad-hoc signature (flags 0x2 adhoc, no CMS signature); ${EXPECTED_SIGNATURE}`,
    ]);
  });

  it('a missing path is an InputFileError naming the flag', async () => {
    const p = path.join(repoRoot, 'fixtures/demo/no-such-binary');
    await expect(checkReleaseBinary(p, SPEC)).rejects.toThrow(`${p}: --binary: no such file`);
    await expect(checkReleaseBinary(p, SPEC)).rejects.toBeInstanceOf(InputFileError);
  });
});

describe('describeNonMachO', () => {
  it('lets Mach-O and universal magics through', () => {
    expect(describeNonMachO(demoArm64())).toBeUndefined();
    expect(describeNonMachO(Buffer.from('cafebabe', 'hex'))).toBeUndefined();
    expect(describeNonMachO(Buffer.from('MZ'))).toBe('is an MS-DOS/Windows executable (MZ header)');
  });
});

describe('fuzz: only the typed error ever comes out', () => {
  it('corrupted and truncated demo binaries', () => {
    const samples = [demoArm64(), createUniversal([{ name: 'a', data: demoArm64() }, { name: 'x', data: demoX8664() }])];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(), (i, edits, cut) => {
        const b = Buffer.from(samples[i]!);
        for (const [at, v] of edits) b[at % b.length] = v;
        const data = b.subarray(0, b.length - (cut % 64));
        try {
          checkReleaseBinaryBytes(data, 'fuzz', SPEC);
        } catch (e) {
          if (!(e instanceof ReleaseBinaryError)) throw e;
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('a path is checked streamed, with the same verdict as its bytes in memory', () => {
  it('accepted and refused binaries: identical identities and messages', async () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'binary-check-'));
    onTestFinished(() => rmSync(tmp, { recursive: true, force: true }));
    const changed = demoArm64();
    changed[0x262]! ^= 0xff;
    const samples: Array<[string, Buffer, Partial<ReleaseBinarySpec>]> = [
      ['arm64', demoArm64(), {}],
      ['fat', createUniversal([{ name: 'a', data: demoArm64() }, { name: 'x', data: demoX8664() }]), { arch: 'universal' }],
      ['changed', changed, {}],
      ['x86_64', demoX8664(), {}],
      ['adhoc', demo({ signature: 'adhoc' }), {}],
      ['truncated', demoArm64().subarray(0, 300), {}],
      ['elf', readFileSync(treeSitterPrebuild('linux-x64')), {}],
      ['empty', Buffer.alloc(0), {}],
    ];
    for (const [name, data, spec] of samples) {
      const p = path.join(tmp, name);
      writeFileSync(p, data);
      const fromBytes = await Promise.resolve().then(() => checkReleaseBinaryBytes(data, p, { ...SPEC, ...spec })).then((id) => ({ id }), (e: unknown) => ({ e: String(e) }));
      const fromPath = await checkReleaseBinary(p, { ...SPEC, ...spec }).then((id) => ({ id }), (e: unknown) => ({ e: String(e) }));
      expect([name, fromPath]).toEqual([name, fromBytes]);
    }
  });
});
