/**
 * Loading a release for a rollout from a real release zip made by `aiwatch-deploy build --demo`: the facts are
 * checked against independent tools (unzip, openssl dgst over the extracted pkg), the pkg stream is restartable,
 * the demo's trust facts say what it is (a binary signed by the demo signer, not a Developer ID; a pkg neither
 * signed nor notarized), and a damaged or re-packed zip is refused before anything else.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { InputFileError } from '../../src/errors.js';
import { hashStream, loadRelease } from '../../src/rollout/release.js';
import { cli, tempDir } from '../release/build-helpers.js';
import { run } from '../helpers/tools.js';

let work: string;
let zip: string;
let unpacked: string;
const PKG = 'aiwatch-1.0.0-macos-arm64.pkg';
const spec = loadDefaultSpec();

beforeAll(async () => {
  work = tempDir('rollout-release');
  const r = await cli(['build', '--demo', '--out', path.join(work, 'out')]);
  expect(r.code, r.stderr).toBe(0);
  zip = path.join(work, 'out', readdirSync(path.join(work, 'out')).find((f) => f.endsWith('.zip'))!);
  unpacked = path.join(work, 'unzipped');
  run('unzip', ['-q', zip, '-d', unpacked]);
}, 120_000);

const opensslHash = (alg: string, file: string): string => /= ([0-9a-f]+)\s*$/.exec(run('openssl', ['dgst', `-${alg}`, file]))![1]!;

describe('loadRelease', () => {
  it('describes the demo release: version, pkg facts matching openssl, profile bytes matching unzip', async () => {
    const notes: string[] = [];
    const r = await loadRelease(zip, { spec, env: {}, note: (n) => notes.push(n) });
    const pkgFile = path.join(unpacked, PKG);
    expect(r.version).toBe('1.0.0');
    expect(r.pkg).toMatchObject({
      fileName: PKG,
      size: readFileSync(pkgFile).length,
      sha256: opensslHash('sha256', pkgFile),
      sha512: opensslHash('sha512', pkgFile),
      md5: opensslHash('md5', pkgFile),
    });
    expect(Buffer.from(r.profiles.pppc)).toEqual(readFileSync(path.join(unpacked, 'com.runlayer.aiwatch.pppc.mobileconfig')));
    expect(Buffer.from(r.profiles.loginItems)).toEqual(readFileSync(path.join(unpacked, 'com.runlayer.aiwatch.loginitems.mobileconfig')));
    // The health scripts of issue 13, for the drivers that deploy them (healthInventory).
    expect(r.healthScripts?.jamfExtensionAttribute).toBe(readFileSync(path.join(unpacked, 'aiwatch-jamf-ea.sh'), 'utf8'));
    expect(r.healthScripts?.intuneAttribute).toBe(readFileSync(path.join(unpacked, 'aiwatch-intune-attribute.sh'), 'utf8'));
    expect(notes.join('\n')).toMatch(/DEVELOPMENT BUILD/);
  });

  it('streams the pkg afresh on every read(), in chunks of at most 64 KiB', async () => {
    const r = await loadRelease(zip, { spec, env: {} });
    let largest = 0;
    const sized = async function* (): AsyncIterable<Uint8Array> {
      for await (const c of r.pkg.read()) {
        largest = Math.max(largest, c.length);
        yield c;
      }
    };
    expect((await hashStream(sized())).sha256).toBe(r.pkg.sha256);
    expect((await hashStream(r.pkg.read())).sha512).toBe(r.pkg.sha512);
    expect(largest).toBeLessThanOrEqual(65536);
  });

  it('says the demo is not trusted for production: binary by the demo signer, pkg not signed nor notarized; the PPPC pins match the binary', async () => {
    const { trust } = await loadRelease(zip, { spec, env: {} });
    expect(trust).toEqual({
      developerIdSigned: false,
      notarizedStapled: false,
      pppcMatchesBinary: true,
      problems: [
        `${PKG} is not signed`,
        expect.stringMatching(/^the agent binary \/usr\/local\/lib\/runlayer\/aiwatch\/aiwatch is signed by "aiwatch-deploy DEMO signer/),
        `${PKG} is not notarized and stapled`,
      ],
    });
  });

  it('refuses a damaged zip before anything else, naming each problem (exit 3)', async () => {
    const bad = path.join(work, 'damaged.zip');
    const bytes = readFileSync(zip);
    // Change a byte inside the pkg (stored in the zip): its CRC, the manifest's and SHA256SUMS' hashes no longer match.
    const at = bytes.indexOf(Buffer.from('xar!'));
    expect(at).toBeGreaterThan(0);
    bytes[at + 4000] = bytes[at + 4000]! ^ 0xff;
    writeFileSync(bad, bytes);
    const e = await loadRelease(bad, { spec, env: {}, shown: 'damaged.zip' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputFileError);
    expect((e as InputFileError).exitCode).toBe(3);
    expect((e as Error).message).toMatch(/^damaged\.zip: not (a sound release zip|a readable zip archive)/);
  });

  it('refuses a re-packed zip whose pkg is deflated (it would have to be inflated to disk to be streamed)', async () => {
    const repacked = path.join(work, 'repacked.zip');
    const files = readdirSync(unpacked);
    run('7z', ['a', '-tzip', '-mx=9', '-bd', '-bso0', repacked, ...files.map((f) => path.join(unpacked, f))]);
    const e = await loadRelease(repacked, { spec, env: {}, shown: 'repacked.zip' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputFileError);
    expect((e as Error).message).toMatch(/repacked\.zip: aiwatch-1\.0\.0-macos-arm64\.pkg is compressed in the zip/);
  });

  it('names a missing zip (exit 3)', async () => {
    const missing = path.join(work, 'nope.zip');
    await expect(loadRelease(missing, { spec, env: {} })).rejects.toMatchObject({ exitCode: 3 });
  });
});
