/**
 * Every profile artifact against its golden file, parsed back by the `plist` library and by our typed reader,
 * byte-stable across renders, and (interop) valid against Apple's plist DTD with xmllint.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'plist';
import { describe, expect, it } from 'vitest';
import { planProfiles, planTenant, TENANT_FORMATS, type Artifact } from '../../src/profiles/plan.js';
import { wrapFragment } from '../../src/profiles/intune-fragment.js';
import { readPlist, toPlain } from '../../src/formats/plist-read.js';
import { describeWithTools } from '../helpers/tools.js';
import { sampleTenant, spec, xmllintDtd } from './helpers.js';

const text = (a: Artifact): string => Buffer.from(a.bytes).toString('utf8');
const release = planProfiles(spec);
const tenant = TENANT_FORMATS.map((f) => planTenant(spec, sampleTenant(), f));
const all = [...release, ...tenant];
const isPlist = (a: Artifact): boolean => a.path.endsWith('.mobileconfig') || (a.path.endsWith('.plist') && !a.path.includes('intune'));
/** A plist document for every XML artifact (the Intune fragment wrapped). */
const asDocument = (a: Artifact): string => (a.path.includes('intune') ? wrapFragment(text(a)) : text(a));

describe('golden files', () => {
  it('plans the documented file names', () => {
    expect(release.map((a) => a.path)).toEqual([
      'com.runlayer.aiwatch.pppc.mobileconfig',
      'com.runlayer.aiwatch.loginitems.mobileconfig',
      'com.runlayer.aiwatch.jamf.schema.json',
      'launchd/com.runlayer.aiwatch.plist',
      'launchd/com.runlayer.aiwatch.bootstrap.plist',
      'launchd/com.runlayer.aiwatch.enroll.plist',
    ]);
  });
  it.each(all.map((a) => [a.path, a] as const))('%s matches its golden file', async (p, a) => {
    await expect(text(a)).toMatchFileSnapshot(`../golden/profiles/${p.replace(/\//g, '__')}`);
  });
  it('is byte-stable: rendering twice gives the same bytes', () => {
    const again = [...planProfiles(spec), ...TENANT_FORMATS.map((f) => planTenant(spec, sampleTenant(), f))];
    expect(again.map(text)).toEqual(all.map(text));
  });
  it('release artifacts are 0644 and secret-free; tenant artifacts 0600', () => {
    for (const a of release) expect([a.mode, a.secret]).toEqual([0o644, false]);
    for (const a of tenant) expect([a.mode, a.secret]).toEqual([0o600, true]);
  });
});

describe('read back', () => {
  it.each(all.filter((a) => a.path.endsWith('.mobileconfig') || a.path.endsWith('.plist')).map((a) => [a.path, a] as const))(
    '%s parses with the plist library and our reader to the same value, without problems',
    (_p, a) => {
      const doc = asDocument(a);
      const mine = readPlist(doc, a.path);
      expect(mine.problems).toEqual([]);
      expect(toPlain(mine.root!)).toEqual(parse(doc));
    },
  );
  it('the tenant profile carries exactly the tenant values', () => {
    const p = parse(text(tenant[0]!)) as { PayloadContent: Array<Record<string, unknown>> };
    expect(p.PayloadContent[0]).toMatchObject({
      PayloadType: 'com.runlayer.aiwatch',
      Host: 'https://acme.runlayer.com',
      OrgApiKey: 'rl_org_TEST0rgKey-9f3a1c',
      EnrollmentKey: 'rl_enroll_TESTenrollKey-77b2',
      Username: 'jane.doe',
      DeviceName: 'Jane’s MacBook Pro',
      Enforcement: true,
      Sessions: true,
    });
    const mcx = parse(text(tenant[1]!)) as { PayloadContent: Array<{ PayloadContent: Record<string, { Forced: Array<{ mcx_preference_settings: unknown }> }> }> };
    expect(mcx.PayloadContent[0]!.PayloadContent['com.runlayer.aiwatch']!.Forced[0]!.mcx_preference_settings).toEqual(
      parse(wrapFragment(text(tenant[2]!))),
    );
    expect(JSON.parse(text(tenant[3]!))).toEqual(parse(wrapFragment(text(tenant[2]!))));
  });
  it('the Intune fragment has no declaration, <plist> or outer <dict>', () => {
    const f = text(tenant[2]!);
    expect(f.startsWith('<key>')).toBe(true);
    expect(f).not.toMatch(/<\?xml|<plist|^<dict>/m);
  });
});

describeWithTools(['xmllint'], 'xmllint against Apple PropertyList-1.0.dtd', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-xmllint-'));
  const files = all.filter((a) => isPlist(a) || a.path.includes('intune')).map((a) => {
    const f = path.join(dir, a.path.replace(/\//g, '__'));
    writeFileSync(f, asDocument(a));
    return f;
  });
  it('validates every plist artifact without a warning', () => {
    expect(files).toHaveLength(8);
    expect(xmllintDtd(files)).toEqual({ status: 0, output: '' });
  });
  it('fails a dict with two keys in a row (the check can fail)', () => {
    const bad = path.join(dir, 'bad.plist');
    writeFileSync(bad, text(release[0]!).replace('<key>PayloadScope</key>', '<key>PayloadScope</key><key>x</key>'));
    const r = xmllintDtd([bad]);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/does not follow the DTD/);
  });
});
