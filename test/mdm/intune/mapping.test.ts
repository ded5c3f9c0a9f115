// The Intune driver's pure parts: validate (every problem of a target at once, no secret), the desired objects and
// the Graph bodies made from them (shapes from Microsoft's description: graph-intune.json macOSCustomConfiguration,
// macOSCustomAppConfiguration, macOSPkgApp, the /assign bodies), and the comparison that decides create / update /
// drift / unchanged.
import { describe, expect, it } from 'vitest';
import { loadDefaultSpec } from '../../../src/config/spec.js';
import { parseTenantInput, type RawTenantValues } from '../../../src/config/tenant.js';
import { appAssignBody, desiredIntune, profileAssignBody, remediationAssignBody } from '../../../src/mdm/intune/desired.js';
import { compareIntune, intuneDriver } from '../../../src/mdm/intune/driver.js';
import { writeMarker } from '../../../src/rollout/marker.js';
import type { RolloutTarget } from '../../../src/rollout/model.js';
import { Secret } from '../../../src/secret.js';
import { fakeRelease, ORG_KEY } from '../jamf/release.js';

const GROUP = '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
const base: RolloutTarget = {
  name: 'contoso',
  mdm: 'intune',
  url: 'https://graph.microsoft.com/beta',
  credentials: { tenantId: '11111111-2222-3333-4444-555555555555', clientId: '66666666-7777-8888-9999-000000000000', clientSecret: { env: 'INTUNE_SECRET' } },
  tenant: {},
  scope: { group: GROUP },
  testServer: false,
  options: {},
};

describe('intune validate', () => {
  it('a sound target has no problem, with each of the four credentials', () => {
    expect(intuneDriver.validate(base)).toEqual([]);
    const c = { tenantId: 'contoso.onmicrosoft.com', clientId: base.credentials.clientId as string };
    expect(intuneDriver.validate({ ...base, credentials: { ...c, certificate: { file: 'app.pem' }, certificatePassword: { env: 'P' } } })).toEqual([]);
    expect(intuneDriver.validate({ ...base, credentials: { ...c, federatedToken: { file: '/var/run/token' } } })).toEqual([]);
    expect(intuneDriver.validate({ ...base, credentials: { ...c, federated: 'github-actions' }, options: { authority: 'https://login.microsoftonline.us', namePrefix: 'rl aiwatch' } })).toEqual([]);
  });

  it('every problem at once, each naming the target, never echoing a secret', () => {
    const problems = intuneDriver.validate({
      ...base,
      credentials: { tenantId: 'not a tenant', clientId: { env: 'X' }, clientSecret: 'plain-SECRET-text', federated: 'gitlab', extra: 'x' },
      options: { authority: 'http://login.example.com', colour: 1 },
      scope: { smartGroup: { name: 'AI Watch', criteria: [] } },
    });
    expect(problems).toEqual([
      expect.stringMatching(/^target contoso: credentials: unknown field "extra"/),
      'target contoso: credentials: clientId is not secret: give it as text, not a file or env reference',
      'target contoso: credentials: clientSecret is a secret: give it by reference ({file: …} or {env: …}), never as text',
      'target contoso: credentials: tenantId "not a tenant" is neither a GUID nor a domain (expected the Entra directory id)',
      'target contoso: credentials: federated must be "github-actions", got "gitlab" (a token from a file is federatedToken: {file: …})',
      'target contoso: credentials: give exactly one of clientSecret, certificate, federatedToken or federated: github-actions, not clientSecret and federated',
      expect.stringMatching(/^target contoso: options.authority must be an https URL/),
      expect.stringMatching(/^target contoso: options: unknown option "colour"/),
      expect.stringMatching(/^target contoso: scope.smartGroup is a Jamf concept; for Intune give scope.group: the object id \(GUID\) of an Entra group/),
    ]);
    expect(problems.join('\n')).not.toContain('plain-SECRET-text');
    expect(intuneDriver.validate({ ...base, scope: { group: 'All Macs' } })).toEqual([expect.stringMatching(/scope.group must be an Entra group object id \(a GUID/)]);
    expect(intuneDriver.validate({ ...base, credentials: {} })).toEqual(
      expect.arrayContaining(['target contoso: credentials: tenantId is missing (the Entra directory (tenant) id)', expect.stringMatching(/give exactly one of/)]),
    );
  });
});

describe('intune desired objects', () => {
  const spec = loadDefaultSpec();
  const tenant = parseTenantInput(spec, { Host: 'https://contoso.runlayer.com', OrgApiKey: new Secret(ORG_KEY, 'OrgApiKey') } as RawTenantValues, 'tenant');
  const release = fakeRelease();
  const desired = desiredIntune({ spec, release, tenant, prefix: 'aiwatch', groupId: GROUP });

  it('profiles before the app, each a Graph body of its documented type', () => {
    expect(desired.map((d) => [d.role, d.name])).toEqual([
      ['profile-pppc', 'aiwatch — PPPC'],
      ['profile-loginitems', 'aiwatch — login items'],
      ['profile-tenant', 'aiwatch — tenant settings'],
      ['app-macos', 'aiwatch agent (macOS)'],
    ]);
    const pppc = desired[0]!.body;
    expect(pppc).toMatchObject({ '@odata.type': '#microsoft.graph.macOSCustomConfiguration', displayName: 'aiwatch — PPPC', payloadName: 'aiwatch — PPPC', payloadFileName: `${spec.domain}.pppc.mobileconfig`, deploymentChannel: 'deviceChannel' });
    expect(Buffer.from(pppc.payload as string, 'base64').toString('utf8')).toBe(Buffer.from(release.profiles.pppc).toString('utf8').trim());
    const t = desired[2]!.body;
    expect(t).toMatchObject({ '@odata.type': '#microsoft.graph.macOSCustomAppConfiguration', bundleId: spec.domain });
    const xml = Buffer.from(t.configurationXml as string, 'base64').toString('utf8');
    expect(xml).toContain('<key>OrgApiKey</key>');
    expect(xml).toContain(ORG_KEY);
    expect(desired[2]!.secretFields).toEqual(['configurationXml']);
    expect(JSON.stringify(desired[2]!.fields)).not.toContain(ORG_KEY);
    const app = desired[3]!.body;
    expect(app).toMatchObject({
      '@odata.type': '#microsoft.graph.macOSPkgApp',
      fileName: release.pkg.fileName,
      primaryBundleId: spec.packageIdentifier,
      primaryBundleVersion: '1.2.0',
      includedApps: [{ bundleId: spec.packageIdentifier, bundleVersion: '1.2.0' }],
      ignoreVersionDetection: false,
    });
  });

  it('assign bodies name the Entra group; the app is required', () => {
    expect(profileAssignBody(GROUP)).toEqual({ assignments: [{ '@odata.type': '#microsoft.graph.deviceConfigurationAssignment', target: { '@odata.type': '#microsoft.graph.groupAssignmentTarget', groupId: GROUP } }] });
    expect(appAssignBody(GROUP)).toMatchObject({ mobileAppAssignments: [{ intent: 'required', target: { groupId: GROUP } }] });
  });

  it('a new release changes the app and its hash, not the profiles', () => {
    const next = desiredIntune({ spec, release: fakeRelease({ version: '1.3.0', seed: 9 }), tenant, prefix: 'aiwatch', groupId: GROUP });
    expect(next.map((d) => d.hash === desired[desired.indexOf(desired.find((x) => x.role === d.role)!)]!.hash)).toEqual([true, true, true, false]);
  });

  it('compare: absent → create; same fields + marker → unchanged; console change → drift; no marker → adopted; secret diff shown as hash', () => {
    const d = desired[2]!;
    expect(compareIntune(d, undefined).action).toBe('create');
    const marker = writeMarker('made by hand', { kind: d.role, sha256: d.hash, version: '1.2.0' });
    const same = { id: 'p1', marker, fields: { ...d.fields }, raw: {} };
    expect(compareIntune(d, same)).toMatchObject({ action: 'unchanged', id: 'p1', diff: [] });
    const drift = compareIntune(d, { ...same, fields: { ...d.fields, configurationXml: 'sha256:000000000000' } });
    expect(drift).toMatchObject({ action: 'update', reason: 'drift', diff: [{ field: 'configurationXml', from: 'sha256:000000000000', secret: true }] });
    expect(JSON.stringify(drift)).not.toContain(ORG_KEY);
    expect(compareIntune(d, { ...same, marker: '' })).toMatchObject({ action: 'update', reason: 'not made by aiwatch-deploy: adopted (marker added)' });
    const app = desired[3]!;
    const noContent = compareIntune(app, { id: 'a1', marker: '', fields: { ...app.fields, content: null, assignments: '[]' }, raw: {} });
    expect(noContent.diff.map((x) => x.field)).toEqual(['content', 'assignments', 'marker']);
  });

  it('observed (for status): the marker hash of an existing object; for the macOS app the version of its committed content', () => {
    const d = desired[2]!;
    expect(compareIntune(d, undefined)).not.toHaveProperty('observed');
    const old = 'e'.repeat(64);
    const seen = { id: 'p1', marker: writeMarker('', { kind: d.role, sha256: old, version: '1.1.0' }), fields: { ...d.fields }, raw: {} };
    expect(compareIntune(d, seen).observed).toEqual({ hash: old });
    expect(compareIntune(d, { ...seen, marker: 'made by hand' }).observed).toEqual({});
    const app = desired[3]!;
    // The marker is written with the committed content: its version is the content's.
    const ours = { id: 'a1', marker: writeMarker('', { kind: app.role, sha256: old, version: '1.1.0' }), fields: { ...app.fields, primaryBundleVersion: '9.9.9' }, raw: { committedContentVersion: '1' } };
    expect(compareIntune(app, ours).observed).toEqual({ hash: old, version: '1.1.0' });
    // No marker: the version the app declares, only if it has committed content at all.
    expect(compareIntune(app, { ...ours, marker: '' }).observed).toEqual({ version: '9.9.9' });
    expect(compareIntune(app, { ...ours, marker: '', raw: {} }).observed).toEqual({});
  });

  it('with options.windows: the install and health Remediations, SYSTEM, 64-bit, from the same renderers as `aiwatch-deploy intune`', () => {
    const all = desiredIntune({ spec, release, tenant, prefix: 'aiwatch', groupId: GROUP, windows: true });
    expect(all.map((d) => d.role)).toEqual(['profile-pppc', 'profile-loginitems', 'profile-tenant', 'app-macos', 'app-windows', 'remediation-install', 'remediation-health']);
    const [win32, install, health] = all.slice(4);
    expect(win32!.body).toMatchObject({
      '@odata.type': '#microsoft.graph.win32LobApp',
      fileName: 'Install-AiwatchDetect.intunewin',
      setupFilePath: 'Install-AiwatchDetect.ps1',
      installCommandLine: 'powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File .\\Install-AiwatchDetect.ps1',
      uninstallCommandLine: 'powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File .\\Uninstall-Aiwatch.ps1',
      installExperience: { runAsAccount: 'system' },
      returnCodes: [
        { returnCode: 0, type: 'success' },
        { returnCode: 1, type: 'failed' },
        { returnCode: 2, type: 'retry' },
        { returnCode: 3, type: 'failed' },
      ],
      rules: [{ '@odata.type': '#microsoft.graph.win32LobAppPowerShellScriptRule', ruleType: 'detection', runAs32Bit: false, enforceSignatureCheck: false }],
    });
    const rule = (win32!.body.rules as { scriptContent: string }[])[0]!;
    expect(Buffer.from(rule.scriptContent, 'base64').toString('utf8')).toBe(Buffer.from(install!.body.detectionScriptContent as string, 'base64').toString('utf8'));
    for (const r of [install!, health!]) {
      expect(r.body).toMatchObject({ '@odata.type': '#microsoft.graph.deviceHealthScript', runAsAccount: 'system', runAs32Bit: false, enforceSignatureCheck: false, deviceHealthScriptType: 'deviceHealthScript' });
    }
    const text = (v: unknown): string => Buffer.from(v as string, 'base64').toString('utf8');
    expect(text(install!.body.detectionScriptContent)).toMatch(/\r\n/);
    expect(text(install!.body.remediationScriptContent)).not.toBe(text(install!.body.detectionScriptContent));
    expect(install!.secretFields).toEqual(['remediationScript']);
    expect(JSON.stringify(install!.fields)).not.toContain(ORG_KEY);
    expect(text(health!.body.detectionScriptContent).length).toBeGreaterThan(100);
    expect(health!.secretFields).toBeUndefined();
    expect(remediationAssignBody(GROUP)).toEqual({
      deviceHealthScriptAssignments: [
        {
          '@odata.type': '#microsoft.graph.deviceHealthScriptAssignment',
          target: { '@odata.type': '#microsoft.graph.groupAssignmentTarget', groupId: GROUP },
          runRemediationScript: true,
          runSchedule: { '@odata.type': '#microsoft.graph.deviceHealthScriptHourlySchedule', interval: 1 },
        },
      ],
    });
    expect(intuneDriver.validate({ ...base, options: { windows: 'yes' } })).toEqual(['target contoso: options.windows must be true or false, got "yes"']);
  });
});
