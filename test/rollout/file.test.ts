/**
 * The rollout file: YAML and JSON, defaults merged, paths made absolute, every problem at once naming the target,
 * secrets only by reference (a literal is refused and never echoed), unsupported MDMs named, --target filtering;
 * and the reading of references (src/rollout/secrets.ts).
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { UsageError } from '../../src/errors.js';
import { MDM_DRIVERS } from '../../src/mdm/index.js';
import { loadRollout, parseRollout, selectTargets } from '../../src/rollout/file.js';
import { resolveTargets } from '../../src/rollout/secrets.js';
import { isSecret } from '../../src/secret.js';
import { fakeDriver } from './fake-mdm.js';

const drivers = { jamf: fakeDriver(new Map()) };
const where = { file: 'rollout.yaml', dir: '/work/rollouts' };

const GOOD = `
release:
  zip: ../out/aiwatch-1.2.0-macos-arm64.zip
defaults:
  mdm: jamf
  credentials:
    clientId: aiwatch-deploy
  tenant:
    Enforcement: true
  scope:
    smartGroup:
      name: AI Watch
      criteria:
        - { name: Operating System Version, searchType: greater than or equal, value: "13" }
targets:
  - name: acme
    url: https://acme.jamfcloud.com
    credentials:
      clientSecret: { file: secrets/acme.secret }
    tenant:
      Host: https://acme.runlayer.com
      OrgApiKey: { env: ACME_ORG_KEY }
  - name: globex
    url: http://127.0.0.1:8443
    testServer: true
    credentials:
      clientId: globex-client
      clientSecret: { env: GLOBEX_SECRET }
    tenant:
      Host: https://globex.runlayer.com
      OrgApiKey: { file: /etc/aiwatch/globex.key }
      Enforcement: false
    scope: { group: Pilot Macs }
`;

function problemsOf(text: string): string[] {
  try {
    parseRollout(text, where, drivers);
  } catch (e) {
    if (e instanceof UsageError) return e.problems;
    throw e;
  }
  throw new Error('expected a UsageError');
}

describe('rollout file', () => {
  it('merges defaults into each target and makes paths absolute against the file', () => {
    const r = parseRollout(GOOD, where, drivers);
    expect(r.release.zip).toBe('/work/out/aiwatch-1.2.0-macos-arm64.zip');
    expect(r.targets).toEqual([
      {
        name: 'acme', mdm: 'jamf', url: 'https://acme.jamfcloud.com', testServer: false, options: {},
        credentials: { clientId: 'aiwatch-deploy', clientSecret: { file: '/work/rollouts/secrets/acme.secret' } },
        tenant: { Enforcement: true, Host: 'https://acme.runlayer.com', OrgApiKey: { env: 'ACME_ORG_KEY' } },
        scope: { smartGroup: { name: 'AI Watch', criteria: [{ name: 'Operating System Version', searchType: 'greater than or equal', value: '13', andOr: 'and' }] } },
      },
      {
        name: 'globex', mdm: 'jamf', url: 'http://127.0.0.1:8443', testServer: true, options: {},
        credentials: { clientId: 'globex-client', clientSecret: { env: 'GLOBEX_SECRET' } },
        tenant: { Enforcement: false, Host: 'https://globex.runlayer.com', OrgApiKey: { file: '/etc/aiwatch/globex.key' } },
        scope: { group: 'Pilot Macs' },
      },
    ]);
  });

  it('reads JSON the same way', () => {
    const json = JSON.stringify({
      release: { zip: 'r.zip' },
      targets: [{ name: 'a', mdm: 'jamf', url: 'https://a.example.com', credentials: { clientId: 'x', clientSecret: { env: 'S' } }, tenant: { Host: 'https://a.runlayer.com', OrgApiKey: { env: 'K' } }, scope: { group: 'All' } }],
    });
    expect(parseRollout(json, where, drivers).targets[0]!.scope).toEqual({ group: 'All' });
  });

  it('reports every problem at once, each naming its target; literal secrets refused without being shown', () => {
    const text = `
release: { zip: r.zip, build: {} }
defaults: { mdm: jamf, colour: blue }
targets:
  - name: acme
    url: http://acme.jamfcloud.com
    credentials: { clientId: id, clientSecret: hunter2-LITERAL-secret }
    tenant: { Host: https://acme.runlayer.com, OrgApiKey: rl_org_LITERALkey999, Colour: red }
    scope: { group: All }
  - name: acme
    url: https://acme2.example.com
    credentials: { clientId: id, clientSecret: { file: a, env: B } }
    tenant: { Host: https://acme.runlayer.com, EnrollmentKey: 12345678 }
    scope: { group: All, smartGroup: { name: x, criteria: [] } }
  - name: contoso
    mdm: intune
    url: https://contoso.example.com
    scope: { group: All }
  - name: initech
    url: https://user:pw-SECRET@initech.example.com
    credentials: { clientId: rl_enroll_INCLIENTID }
  - url: https://noname.example.com
`;
    const p = problemsOf(text);
    const all = p.join('\n');
    const expected = [
      /^rollout\.yaml: \/release: unknown key "build"$/,
      /^rollout\.yaml: \/defaults: unknown key "colour"$/,
      /^rollout\.yaml: targets\[1\] \(acme\) \/credentials\/clientSecret: a reference is \{file: PATH\} or \{env: NAME\}, exactly one$/,
      /^rollout\.yaml: targets\[1\] \(acme\) \/tenant\/EnrollmentKey: must be true, false, text or a reference/,
      /^rollout\.yaml: targets\[1\] \(acme\) \/scope: give exactly one of smartGroup or group$/,
      /^rollout\.yaml: targets\[4\]: must have required property 'name'$/,
      /^rollout\.yaml: targets\[0\] \(acme\): url: "http:\/\/acme\.jamfcloud\.com" must be https/,
      /^rollout\.yaml: targets\[0\] \(acme\): credentials\.clientSecret is a secret: give it by reference, \{file: PATH\} or \{env: NAME\} \(the value given is not shown\)$/,
      /^rollout\.yaml: targets\[0\] \(acme\): tenant\.OrgApiKey is a secret: give it by reference/,
      /^rollout\.yaml: targets\[0\] \(acme\): tenant\.Colour: not a tenant key \(expected Host, OrgApiKey, EnrollmentKey, Username, DeviceName, Enforcement, Sessions\)$/,
      /^rollout\.yaml: targets\[1\] \(acme\): the name "acme" is also targets\[0\]'s/,
      /^rollout\.yaml: targets\[2\] \(contoso\): mdm "intune" is not supported yet \(supported: jamf\)$/,
      /^rollout\.yaml: targets\[3\] \(initech\): url: holds a user name or password \(not shown\)/,
      /^rollout\.yaml: targets\[3\] \(initech\): credentials\.clientId: holds what looks like a key/,
      /^rollout\.yaml: targets\[3\] \(initech\): credentials\.clientSecret is missing/,
    ];
    for (const re of expected) expect(p, re.source).toContainEqual(expect.stringMatching(re));
    for (const secret of ['hunter2-LITERAL-secret', 'LITERALkey999', 'pw-SECRET', 'INCLIENTID', '12345678']) expect(all).not.toContain(secret);
  });

  it('refuses YAML it cannot read whole: a syntax error, a duplicate key', () => {
    expect(problemsOf('release: [unclosed')).toEqual([expect.stringMatching(/^rollout\.yaml: /)]);
    expect(problemsOf('release: { zip: a }\nrelease: { zip: b }\ntargets: []')[0]).toMatch(/^rollout\.yaml: Map keys must be unique/);
  });

  it('is bounded on hostile input: an alias bomb is refused, a file over 4 MiB is not read', async () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`)].join('\n');
    expect(problemsOf(bomb)).toEqual([expect.stringMatching(/^rollout\.yaml: .*[Aa]lias/)]);
    const dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-rollout-big-'));
    const big = path.join(dir, 'big.yaml');
    writeFileSync(big, `# ${'x'.repeat(4 << 20)}\n`);
    await expect(loadRollout(big, drivers, 'big.yaml')).rejects.toThrow(/^big\.yaml: 4194307 bytes: over the 4194304 a rollout file may have \(not read\)$/);
  });

  it('passes target options to the driver, whose problems name the target', () => {
    const text = GOOD.replace('    testServer: true', '    testServer: true\n    options: { category: 7 }');
    expect(problemsOf(text)).toEqual(['rollout.yaml: targets[1] (globex): options.category: expected a name, got 7']);
  });

  it('holds 200 targets', () => {
    const targets = Array.from({ length: 200 }, (_, i) => `  - { name: t${i}, url: "https://t${i}.example.com", tenant: { Host: "https://t${i}.runlayer.com" } }`).join('\n');
    const text = `release: { zip: r.zip }\ndefaults:\n  mdm: jamf\n  credentials: { clientId: c, clientSecret: { env: S } }\n  tenant: { OrgApiKey: { env: K } }\n  scope: { group: All }\ntargets:\n${targets}\n`;
    const r = parseRollout(text, where, drivers);
    expect(r.targets).toHaveLength(200);
    expect(selectTargets(r, ['t7', 't199']).map((t) => t.name)).toEqual(['t7', 't199']);
  });

  it('--target with an unknown name is a usage error naming it', () => {
    const r = parseRollout(GOOD, where, drivers);
    expect(selectTargets(r, undefined)).toHaveLength(2);
    expect(() => selectTargets(r, ['acme', 'initech'])).toThrow(/--target "initech": no such target in rollout\.yaml \(it has acme, globex\)/);
  });

  it('with the registry of the CLI (src/mdm/index.ts): jamf and intune validate their credentials and scope', () => {
    const text = `release: { zip: r.zip }
targets:
  - { name: a, mdm: jamf, url: "https://a.jamfcloud.com", credentials: { clientId: x }, tenant: { Host: "https://a.runlayer.com" }, scope: { group: All } }
  - { name: b, mdm: intune, url: "https://b.example.com", scope: { group: All } }
`;
    const e = (() => {
      try {
        parseRollout(text, where, MDM_DRIVERS);
      } catch (x) {
        return x as UsageError;
      }
      throw new Error('expected a UsageError');
    })();
    expect(e.problems).toContainEqual(expect.stringMatching(/^rollout\.yaml: targets\[0\] \(a\): .*credentials/));
    expect(e.problems).toContainEqual(expect.stringMatching(/^rollout\.yaml: targets\[1\] \(b\): .*scope\.group must be an Entra group object id/));
    expect(Object.keys(MDM_DRIVERS)).toEqual(expect.arrayContaining(['jamf', 'intune', 'fleet']));
  });

  it('names a missing rollout file (exit 3)', async () => {
    await expect(loadRollout('/nonexistent/rollout.yaml', drivers)).rejects.toMatchObject({ exitCode: 3 });
  });
});

describe('secret references', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'aiwatch-rollout-secrets-'));
  const spec = loadDefaultSpec();

  function targets(): ReturnType<typeof parseRollout>['targets'] {
    writeFileSync(path.join(dir, 'rollout.yaml'), GOOD);
    return parseRollout(GOOD.replace('secrets/acme.secret', path.join(dir, 'acme.secret')).replace('/etc/aiwatch/globex.key', path.join(dir, 'globex.key')), { file: 'rollout.yaml', dir }, drivers).targets;
  }

  it('reads files and env vars into Secrets and validates the tenant values; warns about a file others can read', async () => {
    writeFileSync(path.join(dir, 'acme.secret'), 'acme-client-secret\n', { mode: 0o600 });
    writeFileSync(path.join(dir, 'globex.key'), 'rl_org_GLOBEXkey1\n');
    chmodSync(path.join(dir, 'globex.key'), 0o644);
    const warnings: string[] = [];
    const r = await resolveTargets(targets(), spec, { env: { ACME_ORG_KEY: 'rl_org_ACMEkey1', GLOBEX_SECRET: 'globex-secret' }, warn: (w) => warnings.push(w) });
    const [acme, globex] = r;
    expect(isSecret(acme!.credentials.clientSecret) && acme!.credentials.clientSecret.reveal()).toBe('acme-client-secret');
    expect(acme!.credentials.clientId).toBe('aiwatch-deploy');
    expect(isSecret(acme!.tenant.OrgApiKey) && acme!.tenant.OrgApiKey.reveal()).toBe('rl_org_ACMEkey1');
    expect(acme!.tenant).toMatchObject({ Host: 'https://acme.runlayer.com', Enforcement: true, Sessions: true });
    expect(isSecret(globex!.tenant.OrgApiKey) && globex!.tenant.OrgApiKey.reveal()).toBe('rl_org_GLOBEXkey1');
    expect(warnings).toEqual(['target globex: tenant.OrgApiKey: its {file} can be read by group or others (mode 644): chmod 600 it']);
  });

  it('a missing file or env var, a bad key: every problem at once, naming target and field, never the value or path', async () => {
    writeFileSync(path.join(dir, 'globex.key'), 'rl_org_BAD KEY with spaces\n', { mode: 0o600 });
    const t = targets();
    t[0]!.credentials.clientSecret = { file: path.join(dir, 'rl_org_PATHsecret') };
    const err = await resolveTargets(t, spec, { env: { GLOBEX_SECRET: '' }, warn: () => undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    const p = (err as UsageError).problems;
    expect(p).toEqual([
      'target acme: credentials.clientSecret: its {file} does not exist (the path is not shown: it may be the secret itself)',
      'target acme: tenant.OrgApiKey: the environment variable ACME_ORG_KEY is not set or empty',
      'target globex: credentials.clientSecret: the environment variable GLOBEX_SECRET is not set or empty',
      expect.stringMatching(/^target globex: tenant: OrgApiKey rl_org_\*{8} /),
    ]);
    expect(p.join('\n')).not.toMatch(/PATHsecret|BAD KEY/);
  });
});
