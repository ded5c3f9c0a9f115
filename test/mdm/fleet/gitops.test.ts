// `aiwatch-deploy fleet-gitops`: the GitOps files for a demo release, read back with the `yaml` library (already a
// dependency) and checked against the GitOps keys in Fleet's vendor slice (test/fixtures/vendor-api/fleet/
// fleet.json `gitops`): every key we write is one Fleet documents, paths resolve from a team file, the package hash
// is the pkg's, the tenant profile holds `$AIWATCH_ORG_API_KEY` and never a key, the output is deterministic, and a
// bad input writes nothing.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parsePlist } from 'plist';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import yauzl from 'yauzl';
import { cli, tempDir } from '../../cli/cli-helpers.js';

const SLICE = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../fixtures/vendor-api/fleet/fleet.json'), 'utf8')) as {
  gitops: {
    controls_teams_era: { macos_settings: { custom_settings: Record<string, unknown>[] } };
    software_teams_era: { packages: Record<string, unknown>[]; packageFile: Record<string, unknown> };
    [renames: string]: unknown;
  };
};
/** `labels_include_all|labels_include_any` → both names. */
const keysOf = (o: Record<string, unknown>): string[] => Object.keys(o).flatMap((k) => k.split('|'));
const PROFILE_KEYS = keysOf(SLICE.gitops.controls_teams_era.macos_settings.custom_settings[0]!);
const PACKAGE_REF_KEYS = keysOf(SLICE.gitops.software_teams_era.packages[0]!);
const PACKAGE_FILE_KEYS = keysOf(SLICE.gitops.software_teams_era.packageFile);
const RENAMES = Object.entries(SLICE.gitops).find(([k]) => k.startsWith('renames_fleets_era'))![1] as [string, string][];
/**
 * The policy keys of Fleet's YAML files doc (`fleetdm/fleet` docs/Configuration/yaml-files.md, "policies": options of
 * the Add policy endpoint plus run_script / install_software.package_path); the slice names only the section.
 */
const POLICY_KEYS = ['name', 'description', 'resolution', 'query', 'platform', 'critical', 'calendar_event_enabled', 'run_script', 'install_software'];

/** A parsed YAML document, walked by the assertions (a shape check failing is the test failing). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Fragment = Record<string, any>;

const ORG_KEY = 'rl_org_FleetGitopsMustNotAppear0123';
let dir: string;
let zip: string;

function pkgSha256(zipPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    yauzl.open(zipPath, { lazyEntries: true }, (err, z) => {
      if (err || !z) return reject(err ?? new Error('no zip'));
      z.on('entry', (e: yauzl.Entry) => {
        if (!e.fileName.endsWith('.pkg')) return z.readEntry();
        z.openReadStream(e, (er, s) => {
          if (er || !s) return reject(er ?? new Error('no stream'));
          const h = createHash('sha256');
          s.on('data', (c: Buffer) => h.update(c));
          s.on('end', () => {
            z.close();
            resolve(h.digest('hex'));
          });
        });
      });
      z.on('error', reject);
      z.readEntry();
    });
  });
}

function files(out: string): Record<string, Buffer> {
  const base = path.join(out, 'lib/aiwatch');
  return Object.fromEntries(readdirSync(base).sort().map((f) => [f, readFileSync(path.join(base, f))]));
}

beforeAll(async () => {
  dir = tempDir('fleet-gitops');
  const built = await cli(['build', '--demo', '--out', path.join(dir, 'out')], { cwd: dir });
  expect(built.code, built.stderr).toBe(0);
  zip = `out/${readdirSync(path.join(dir, 'out')).find((f) => f.endsWith('.zip'))!}`;
}, 120_000);

describe('fleet-gitops', () => {
  it('writes the fragment, package file and profiles with Fleet\'s documented keys; deterministic; no key in any file', async () => {
    const env = { AIWATCH_ORG_API_KEY: ORG_KEY };
    const args = ['fleet-gitops', '--release', zip, '--host', 'https://acme.runlayer.com', '--label', 'macOS', '--with-enrollment-key', '--json'];
    const r = await cli([...args, '--out', 'repo'], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(0);
    const summary = r.json();
    expect(summary).toMatchObject({ ok: true, keys: 'teams', version: '1.0.0', variables: ['AIWATCH_ORG_API_KEY', 'AIWATCH_ENROLLMENT_KEY'] });
    const out = files(path.join(dir, 'repo'));
    expect(Object.keys(out)).toEqual(['aiwatch.package.yml', 'com.runlayer.aiwatch.loginitems.mobileconfig', 'com.runlayer.aiwatch.pppc.mobileconfig', 'com.runlayer.aiwatch.tenant.mobileconfig', 'team-fragment.yml']);

    const fragment = parseYaml(out['team-fragment.yml']!.toString()) as Fragment;
    expect(Object.keys(fragment).sort()).toEqual(['controls', 'policies', 'software']);
    expect(Object.keys(fragment.controls)).toEqual(['macos_settings']);
    const profiles = fragment.controls.macos_settings.custom_settings as Record<string, unknown>[];
    expect(profiles).toHaveLength(3);
    for (const p of profiles) {
      for (const k of Object.keys(p)) expect(PROFILE_KEYS).toContain(k);
      expect(p.labels_include_any).toEqual(['macOS']);
      // Relative to a team file (teams/x.yml): ../lib/aiwatch/… is the file we wrote.
      expect(existsSync(path.resolve(dir, 'repo/teams', p.path as string))).toBe(true);
    }
    const pkgRef = fragment.software.packages[0] as Record<string, unknown>;
    for (const k of Object.keys(pkgRef)) expect(PACKAGE_REF_KEYS).toContain(k);
    expect(path.resolve(dir, 'repo/teams', pkgRef.path as string)).toBe(path.join(dir, 'repo/lib/aiwatch/aiwatch.package.yml'));
    const policy = fragment.policies[0] as Fragment;
    for (const k of Object.keys(policy)) expect(POLICY_KEYS).toContain(k);
    expect(policy).toMatchObject({ platform: 'darwin', install_software: { package_path: pkgRef.path } });
    expect(policy.query).toBe("SELECT 1 FROM package_receipts WHERE package_id = 'com.runlayer.aiwatch.pkg' AND version = '1.0.0';");

    const pkg = parseYaml(out['aiwatch.package.yml']!.toString()) as Record<string, unknown>;
    for (const k of Object.keys(pkg)) expect(PACKAGE_FILE_KEYS).toContain(k);
    expect(pkg).toEqual({ hash_sha256: await pkgSha256(path.join(dir, zip)), self_service: false });

    const tenantText = out['com.runlayer.aiwatch.tenant.mobileconfig']!.toString();
    const tenant = parsePlist(tenantText) as { PayloadContent: Record<string, unknown>[] };
    expect(tenant.PayloadContent[0]).toMatchObject({ Host: 'https://acme.runlayer.com', OrgApiKey: '$AIWATCH_ORG_API_KEY', EnrollmentKey: '$AIWATCH_ENROLLMENT_KEY' });
    for (const [name, bytes] of Object.entries(out)) {
      expect(bytes.toString(), name).not.toMatch(/rl_(org|enroll)_/);
    }
    expect(r.stdout + r.stderr).not.toContain(ORG_KEY);

    // Deterministic: a second run gives the same bytes.
    const again = await cli([...args, '--out', 'repo2'], { cwd: dir, env });
    expect(again.code).toBe(0);
    expect(files(path.join(dir, 'repo2'))).toEqual(out);
  }, 60_000);

  it('--keys fleets writes the fleets-era names Fleet maps the old ones to; --pkg-url adds url', async () => {
    const r = await cli(['fleet-gitops', '--release', zip, '--host', 'https://acme.runlayer.com', '--keys', 'fleets', '--pkg-url', 'https://dl.example.com/aiwatch.pkg', '--out', 'repo3'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const out = files(path.join(dir, 'repo3'));
    const fragment = parseYaml(out['team-fragment.yml']!.toString()) as Fragment;
    const renamed = (old: string): string => RENAMES.reduce((p, [from, to]) => (p === from || p.startsWith(`${from}.`) ? to + p.slice(from.length) : p), old);
    expect(renamed('controls.macos_settings.custom_settings')).toBe('controls.apple_settings.configuration_profiles');
    expect(Object.keys(fragment.controls)).toEqual(['apple_settings']);
    expect(Object.keys(fragment.controls.apple_settings)).toEqual(['configuration_profiles']);
    expect(fragment.controls.apple_settings.configuration_profiles[0]).toEqual({ path: '../lib/aiwatch/com.runlayer.aiwatch.pppc.mobileconfig' });
    expect(parseYaml(out['aiwatch.package.yml']!.toString())).toMatchObject({ url: 'https://dl.example.com/aiwatch.pkg' });
    expect(out['com.runlayer.aiwatch.tenant.mobileconfig']!.toString()).not.toContain('EnrollmentKey');
  }, 60_000);

  it('parse, then act: every bad input at once, exit 2, nothing written', async () => {
    const r = await cli(['fleet-gitops', '--release', zip, '--host', 'http://acme.runlayer.com', '--pkg-url', 'http://dl.example.com/a.pkg', '--label', 'a\nb', '--out', 'repo4'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--label must be a Fleet label name/);
    expect(r.stderr).toMatch(/--pkg-url must be an https URL/);
    expect(r.stderr).toMatch(/tenant: Host/);
    expect(existsSync(path.join(dir, 'repo4'))).toBe(false);
  }, 60_000);
});
