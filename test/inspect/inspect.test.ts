/**
 * `inspect`: golden text of the demo build (pkg, the same pkg signed with the DEMO key, the release zip, a signed
 * profile) through the CLI, JSON shape, --scripts, secrets masked in a tenant profile, refusals with exit 3, and the
 * numbers it prints checked against independent readers (bsdtar + GNU cpio + cksum for the lsbom listing, sha1sum of
 * bsdtar-extracted members for the TOC checksums, openssl for the certificate fingerprint and the RSA signature).
 */
import { copyFileSync, appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeTicketTrailer } from '../../src/notary/trailer.js';
import { renderMacosScripts } from '../../src/release/macos-scripts.js';
import { renderTenantProfile } from '../../src/profiles/tenant-profile.js';
import { Secret } from '../../src/secret.js';
import { createSignedData, encodeSignedData } from '../../src/sign/cms.js';
import type { PkgReport } from '../../src/inspect/pkg.js';
import { demoSigner } from '../../scripts/demo-binary/demo-cms.js';
import { describeWithTools, run } from '../helpers/tools.js';
import { buildDemoRelease, cli, PKG_NAME, signPkg, tempDir, ZIP_NAME, type DemoRelease } from '../verify/release-fixture.js';

let demo: DemoRelease;
let work: string;

beforeAll(async () => {
  demo = await buildDemoRelease();
  work = tempDir('inspect');
  copyFileSync(demo.pkg, path.join(work, PKG_NAME));
  await signPkg(demo.pkg, path.join(work, 'signed.pkg'));
  const s = demoSigner('AF2M8HC7A2');
  const profile = demo.entries.get('com.runlayer.aiwatch.loginitems.mobileconfig')!.data;
  const sd = await createSignedData({ privateKey: s.privateKey, certificates: [s.certificate], content: profile, detached: false, signingTime: new Date('2025-01-01T00:00:00Z') });
  writeFileSync(path.join(work, 'signed.mobileconfig'), encodeSignedData(sd));
}, 60_000);

describe('inspect: golden text of the demo build (SOURCE_DATE_EPOCH 1700000000)', () => {
  it('the pkg', async () => {
    const r = await cli(['inspect', PKG_NAME], work);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    await expect(r.stdout).toMatchFileSnapshot('../golden/inspect/demo-pkg.txt');
  });

  it('the pkg signed with the DEMO key (RSA + CMS; untrusted chain)', async () => {
    const r = await cli(['inspect', 'signed.pkg'], work);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('RSA <signature>: heap 20, 256 bytes; verifies over the TOC checksum');
    expect(r.stdout).toMatch(/CMS <x-signature>: heap 276, 4096 bytes reserved, \d+ used; verifies over the TOC checksum/);
    await expect(r.stdout).toMatchFileSnapshot('../golden/inspect/demo-pkg-signed.txt');
  });

  it('the release zip, nested pkg and profiles included', async () => {
    const r = await cli(['inspect', path.basename(demo.zip)], demo.dir);
    expect(r.code).toBe(0);
    await expect(r.stdout).toMatchFileSnapshot('../golden/inspect/demo-zip.txt');
  });

  it('a CMS-signed profile', async () => {
    const r = await cli(['inspect', 'signed.mobileconfig'], work);
    expect(r.code).toBe(0);
    await expect(r.stdout).toMatchFileSnapshot('../golden/inspect/signed-profile.txt');
  });
});

describe('inspect: options, JSON, binaries, secrets, refusals', () => {
  it('--scripts prints each script in full: the very scripts the build rendered', async () => {
    const r = await cli(['inspect', '--scripts', PKG_NAME], work);
    const scripts = renderMacosScripts(demo.spec);
    const indent = (t: string): string => t.replace(/\n$/, '').split('\n').map((l) => (l === '' ? '' : `      ${l}`)).join('\n');
    expect(r.stdout).toContain(indent(scripts.postinstall));
    expect(r.stdout).toContain(indent(scripts.preinstall));
    expect(r.stdout).not.toContain('--scripts shows them');
  });

  it('--json describes the same package as data', async () => {
    const r = await cli(['inspect', '--json', PKG_NAME], work);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as PkgReport;
    expect(j.kind).toBe('pkg');
    expect(j.toc.entries.map((e) => e.path)).toEqual(['Distribution', 'Resources', 'aiwatch.pkg', 'aiwatch.pkg/Bom', 'aiwatch.pkg/PackageInfo', 'aiwatch.pkg/Payload', 'aiwatch.pkg/Scripts']);
    const c = j.components[0]!;
    expect(c.packageInfo?.payload).toEqual({ numberOfFiles: 12, installKBytes: 21 });
    expect(c.payload?.stats).toEqual({ numberOfFiles: 12, installKBytes: 21 });
    expect(c.bom?.entries).toHaveLength(13);
    expect(c.programs[0]!.identity).toMatchObject({ arches: ['arm64'], signature: 'signed', identifier: 'com.runlayer.aiwatch', teamId: 'AF2M8HC7A2' });
    expect(c.programs[0]!.identity!.slices[0]!.hashesMatch).toBe(true);
    expect(j.signature).toMatchObject({ signed: false, status: 'no signature' });
    expect(j.distribution?.info?.hostArchitectures).toEqual(['arm64']);
  });

  it('a stapled ticket is shown', async () => {
    const stapled = path.join(work, 'stapled.pkg');
    copyFileSync(path.join(work, 'signed.pkg'), stapled);
    const size = readFileSync(stapled).length;
    appendFileSync(stapled, encodeTicketTrailer(Buffer.concat([Buffer.from('s8ch'), Buffer.alloc(96, 1)])));
    const r = await cli(['inspect', 'stapled.pkg'], work);
    expect(r.stdout).toContain(`== stapled ticket\n  #1: 100 bytes at offset ${size + 16}, trailer version 1, starts with "s8ch"`);
    expect(r.stdout).toContain(`heap          bytes `);
    expect(r.stdout).toMatch(/; then 1 stapled ticket\n/);
  });

  it('a bare Mach-O binary: identity summary, then the full description', async () => {
    const r = await cli(['inspect', path.join('fixtures', 'demo', 'aiwatch-arm64')]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').slice(0, 2)).toEqual([
      'fixtures/demo/aiwatch-arm64: Mach-O thin (arm64), 18944 bytes',
      '  arm64: MH_EXECUTE, signed (CMS), identifier com.runlayer.aiwatch, team AF2M8HC7A2, flags 0x10000(runtime), sha256 cdhash 60f69c6297c82b2ea4f2abf1cd5b633a6af29bd8, signer "aiwatch-deploy DEMO signer (NOT Apple-issued, NOT a Developer ID)" (OU AF2M8HC7A2), signed 2025-01-01T00:00:00.000Z, hashes match',
    ]);
    expect(r.stdout).toContain('Identifier=com.runlayer.aiwatch');
    for (const arch of ['arm64', 'x86_64']) {
      const j = await cli(['inspect', '--json', path.join('fixtures', 'demo', `aiwatch-${arch}`)]);
      expect(j.code).toBe(0);
      expect(JSON.parse(j.stdout)).toMatchObject({ kind: 'macho', identity: { arches: [arch], teamId: 'AF2M8HC7A2' }, macho: { kind: 'thin' } });
    }
  });

  it('--json of the release zip: manifest summary, entries, nested pkg and profiles', async () => {
    const r = await cli(['inspect', '--json', ZIP_NAME], demo.dir);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { kind: string; manifest: { version: string }; entries: Array<{ name: string; role?: string }>; pkgs: PkgReport[]; profiles: Array<{ file: string }> };
    expect(j.kind).toBe('zip');
    expect(j.manifest.version).toBe('1.0.0');
    expect(j.entries.find((e) => e.name === PKG_NAME)?.role).toBe('pkg');
    expect(j.pkgs.map((p) => p.file)).toEqual([`${ZIP_NAME}:${PKG_NAME}`]);
    expect(j.profiles.map((p) => p.file)).toEqual([`${ZIP_NAME}:com.runlayer.aiwatch.loginitems.mobileconfig`, `${ZIP_NAME}:com.runlayer.aiwatch.pppc.mobileconfig`]);
  });

  it('a tenant profile: the secret values never appear, in text or JSON', async () => {
    const org = 'rl_org_ABCDEFGHIJKLMNOPQRSTUV0123456789';
    const enroll = 'rl_enroll_ZYXWVUTSRQPONMLKJIHGFEDCBA98765';
    const xml = renderTenantProfile(demo.spec, { Host: 'https://acme.runlayer.com', OrgApiKey: new Secret(org, 'OrgApiKey'), EnrollmentKey: new Secret(enroll, 'EnrollmentKey'), Enforcement: true, Sessions: true });
    writeFileSync(path.join(work, 'tenant.mobileconfig'), xml);
    for (const argv of [['inspect', 'tenant.mobileconfig'], ['inspect', '--json', 'tenant.mobileconfig']]) {
      const r = await cli(argv, work);
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain(org);
      expect(r.stdout).not.toContain(enroll);
      expect(r.stdout).not.toContain('ABCDEFGHIJ');
      expect(r.stdout).toContain('https://acme.runlayer.com');
    }
    expect((await cli(['inspect', 'tenant.mobileconfig'], work)).stdout).toContain(`OrgApiKey = <set, ${org.length} characters>`);
  });

  it('refuses a file of another kind and a missing file with exit 3', async () => {
    writeFileSync(path.join(work, 'notes.txt'), 'hello\n');
    const other = await cli(['inspect', 'notes.txt'], work);
    expect(other.code).toBe(3);
    expect(other.stderr).toMatch(/notes\.txt: inspect: not a kind of file inspect knows \(expected a \.pkg, a release \.zip, a Mach-O binary, a configuration profile, a \.ps1 script or a \.intunewin\)/);
    const missing = await cli(['inspect', 'nope.pkg'], work);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/nope\.pkg: inspect: no such file/);
    const json = await cli(['inspect', '--json', 'nope.pkg'], work);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { kind: 'input-file', exitCode: 3 } });
  });
});

describeWithTools(['bsdtar', 'cpio', 'gzip', 'cksum', 'sha1sum', 'openssl'], 'inspect: the numbers it prints, checked by independent readers', () => {
  let json: PkgReport;
  let x: string;
  beforeAll(async () => {
    json = JSON.parse((await cli(['inspect', '--json', 'signed.pkg'], work)).stdout) as PkgReport;
    x = path.join(work, 'x');
    mkdirSync(path.join(x, 'payload'), { recursive: true });
    run('bsdtar', ['-xf', path.join(work, 'signed.pkg'), '-C', x]);
    run('sh', ['-c', 'gzip -dc ../aiwatch.pkg/Payload | cpio -idm --quiet', 'sh'], { cwd: path.join(x, 'payload') });
  });

  it('every file of the lsbom listing has the size and POSIX cksum that cksum(1) computes on the extracted payload', () => {
    const files = json.components[0]!.bom!.entries.filter((e) => e.kind === 'file');
    expect(files).toHaveLength(4);
    for (const f of files) {
      const [sum, size] = run('cksum', [f.path], { cwd: path.join(x, 'payload') }).trim().split(' ');
      expect([f.cksum, f.size]).toEqual([Number(sum), Number(size)]);
    }
  });

  it('every member\'s extracted checksum is the sha1sum of what bsdtar extracts', () => {
    for (const e of json.toc.entries.filter((t) => t.extractedChecksum)) {
      const [sum] = run('sha1sum', [e.path], { cwd: x }).split(' ');
      expect(e.extractedChecksum).toBe(`sha1:${sum}`);
    }
  });

  it('the certificate fingerprint is what openssl prints, and openssl recovers DigestInfo(TOC checksum) from the RSA blob', () => {
    const der = path.join(work, 'demo-cert.der');
    writeFileSync(der, demoSigner('AF2M8HC7A2').certificate);
    const fp = run('openssl', ['x509', '-inform', 'DER', '-in', der, '-noout', '-fingerprint', '-sha256']).trim().split('=')[1];
    expect(json.signature.chain[0]!.sha256).toBe(fp);
    const bytes = readFileSync(path.join(work, 'signed.pkg'));
    const rsaAt = json.toc.heapStart + json.signature.rsa!.offset;
    writeFileSync(path.join(work, 'rsa.bin'), bytes.subarray(rsaAt, rsaAt + 256));
    run('openssl', ['x509', '-inform', 'DER', '-in', der, '-pubkey', '-noout', '-out', path.join(work, 'pub.pem')]);
    const recovered = run('sh', ['-c', 'openssl pkeyutl -verifyrecover -pubin -inkey "$1" -in "$2" | od -An -tx1 | tr -d " \\n"', 'sh', path.join(work, 'pub.pem'), path.join(work, 'rsa.bin')]);
    expect(recovered).toBe(`3021300906052b0e03021a05000414${json.toc.checksum!.stored}`);
  });
});

describe('inspect: the zip name shows in nested sections', () => {
  it('names nested artifacts zip:entry', async () => {
    const r = await cli(['inspect', ZIP_NAME], demo.dir);
    expect(r.stdout).toContain(`${ZIP_NAME}:${PKG_NAME}: flat package (product archive, xar)`);
    expect(r.stdout).toContain(`${ZIP_NAME}:com.runlayer.aiwatch.pppc.mobileconfig: configuration profile (xml), 1 payload(s)`);
  });
});
