/**
 * A staging spec (another signing identifier) must not collide with production on a Mac: every PayloadIdentifier
 * (and so every UUIDv5 PayloadUUID) and every profile file name derives from the spec's identifier, so a staging
 * profile installs NEXT TO the production one instead of replacing it. The default spec keeps its names (the golden
 * files of test/profiles/golden.test.ts prove the bytes).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDemoBinary } from '../../scripts/demo-binary/build.js';
import { buildSpec, loadDefaultSpec } from '../../src/config/spec.js';
import { parseTenantInput } from '../../src/config/tenant.js';
import { planProfiles, planTenant, TENANT_FORMATS } from '../../src/profiles/plan.js';
import { readPlist, toPlain } from '../../src/formats/plist-read.js';
import { payloadUuid } from '../../src/profiles/uuid.js';
import { Secret } from '../../src/secret.js';
import { cli, listTree, tempDir } from '../release/build-helpers.js';

const STAGING = { identifier: 'com.example.aiwatch.staging', teamId: 'ABCDE12345', labelPrefix: 'com.example.aiwatch.staging' };
const staging = buildSpec({ data: STAGING, subject: 'staging.json' });
const production = loadDefaultSpec();
const tenant = (s = staging) => parseTenantInput(s, { Host: 'https://acme.runlayer.com', OrgApiKey: new Secret('rl_org_STAGINGkey1', 'OrgApiKey') });

/** Every [PayloadIdentifier, PayloadUUID] of a profile, top level and payloads. */
function identifiers(bytes: Uint8Array, name: string): Array<[string, string]> {
  const root = toPlain(readPlist(bytes, name).root!) as Record<string, unknown>;
  const list = [root, ...((root.PayloadContent as Array<Record<string, unknown>>) ?? [])];
  return list.map((d) => [String(d.PayloadIdentifier), String(d.PayloadUUID)]);
}

describe('a staging --spec', () => {
  const artifacts = [...planProfiles(staging), ...TENANT_FORMATS.map((f) => planTenant(staging, tenant(), f))];
  const profiles = artifacts.filter((a) => a.path.endsWith('.mobileconfig'));

  it('names every profile, schema and tenant file after the staging identifier', () => {
    const names = artifacts.map((a) => a.path).filter((p) => !p.startsWith('launchd/'));
    expect(names).toEqual([
      'com.example.aiwatch.staging.pppc.mobileconfig',
      'com.example.aiwatch.staging.loginitems.mobileconfig',
      'com.example.aiwatch.staging.jamf.schema.json',
      'com.example.aiwatch.staging.tenant.mobileconfig',
      'com.example.aiwatch.staging.tenant.mcx.mobileconfig',
      'com.example.aiwatch.staging.intune.plist',
      'com.example.aiwatch.staging.jamf.values.json',
    ]);
    expect(artifacts.filter((a) => a.path.startsWith('launchd/')).map((a) => a.path)).toEqual([
      'launchd/com.example.aiwatch.staging.plist',
      'launchd/com.example.aiwatch.staging.bootstrap.plist',
      'launchd/com.example.aiwatch.staging.enroll.plist',
    ]);
  });

  it('puts every PayloadIdentifier under the staging identifier, with the UUIDv5 of that identifier', () => {
    expect(profiles).toHaveLength(4);
    for (const p of profiles) {
      for (const [id, uuid] of identifiers(p.bytes, p.path)) {
        expect(id.startsWith('com.example.aiwatch.staging.'), `${p.path}: ${id}`).toBe(true);
        expect(uuid).toBe(payloadUuid(id));
      }
    }
  });

  it('shares no PayloadIdentifier, PayloadUUID or file name with production', () => {
    const prod = [...planProfiles(production), ...TENANT_FORMATS.map((f) => planTenant(production, tenant(production), f))];
    const prodIds = new Set(prod.filter((a) => a.path.endsWith('.mobileconfig')).flatMap((a) => identifiers(a.bytes, a.path).flat()));
    const stagingIds = profiles.flatMap((a) => identifiers(a.bytes, a.path).flat());
    expect(stagingIds.filter((x) => prodIds.has(x))).toEqual([]);
    const prodNames = new Set(prod.map((a) => a.path));
    expect(artifacts.map((a) => a.path).filter((n) => prodNames.has(n))).toEqual([]);
  });

  it('keeps the tenant settings in the agent\'s preference domain (the domain is not the identifier)', () => {
    const mc = planTenant(staging, tenant(), 'mobileconfig');
    const root = toPlain(readPlist(mc.bytes, mc.path).root!) as { PayloadContent: Array<{ PayloadType: string }> };
    expect(root.PayloadContent[0]!.PayloadType).toBe(staging.domain);
  });

  it('builds a release whose files are named after it, and verify passes it', async () => {
    const work = tempDir('staging');
    const specFile = path.join(work, 'staging.json');
    writeFileSync(specFile, JSON.stringify(STAGING));
    const bin = path.join(work, 'aiwatch-staging');
    writeFileSync(bin, buildDemoBinary({ arch: 'arm64', identifier: STAGING.identifier, teamId: STAGING.teamId }), { mode: 0o755 });
    const out = path.join(work, 'out');
    const b = await cli(['build', '--binary', bin, '--version', '1.0.0', '--spec', specFile, '--development-build', '--out', out, '--json']);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    const manifest = (JSON.parse(b.stdout) as { manifest: { files: Array<{ name: string }> } }).manifest;
    expect(manifest.files.map((f) => f.name).filter((n) => n.endsWith('.mobileconfig') || n.endsWith('.json'))).toEqual([
      'com.example.aiwatch.staging.jamf.schema.json',
      'com.example.aiwatch.staging.loginitems.mobileconfig',
      'com.example.aiwatch.staging.pppc.mobileconfig',
    ]);
    expect(listTree(out)).toEqual(['aiwatch-1.0.0-macos-arm64.zip']);
    const v = await cli(['verify', '--spec', specFile, path.join(out, 'aiwatch-1.0.0-macos-arm64.zip')]);
    expect(v.stdout).toMatch(/^ok {6}.*aiwatch-1\.0\.0-macos-arm64\.zip \(release zip\)$/m);
    expect(v.code).toBe(0);
    // Without --spec, verify uses the manifest's identifiers and still passes.
    expect((await cli(['verify', path.join(out, 'aiwatch-1.0.0-macos-arm64.zip')])).code).toBe(0);
  });
});
