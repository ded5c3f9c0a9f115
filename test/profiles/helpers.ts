/** Shared fixtures of the profile tests: the default spec, a sample tenant with fake keys, Apple's schemas, xmllint. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { parseTenantInput, type RawTenantValues } from '../../src/config/tenant.js';
import type { TenantInput } from '../../src/config/spec-types.js';
import { bundledAppleSchemas, type AppleSchemas } from '../../src/profiles/apple-yaml.js';
import { Secret } from '../../src/secret.js';

export const spec = loadDefaultSpec();
export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/plist');
export const DTD = path.join(FIXTURES, 'PropertyList-1.0.dtd');
export const CATALOG = path.join(FIXTURES, 'catalog.xml');

/** Fake keys, recognisable in output so tests can prove they never leak. */
export const ORG_KEY = 'rl_org_TEST0rgKey-9f3a1c';
export const ENROLL_KEY = 'rl_enroll_TESTenrollKey-77b2';

export function sampleTenant(extra: RawTenantValues = {}): TenantInput {
  return parseTenantInput(spec, {
    Host: 'https://acme.runlayer.com',
    OrgApiKey: new Secret(ORG_KEY, 'OrgApiKey'),
    EnrollmentKey: new Secret(ENROLL_KEY, 'EnrollmentKey'),
    Username: 'jane.doe',
    DeviceName: 'Jane’s MacBook Pro',
    ...extra,
  });
}

/** Apple's schemas (the oracle): the derived data the project ships, nothing read from outside the clone. */
export const apple: AppleSchemas = bundledAppleSchemas();
/** A verbatim copy of the apple/device-management YAML of the payload types we emit (test/fixtures, not shipped). */
export const APPLE_DM_FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/apple-device-management');

/** xmllint DTD validation of files; returns status and output. */
export function xmllintDtd(files: string[]): { status: number; output: string } {
  const r = spawnSync('xmllint', ['--noout', '--nonet', '--dtdvalid', DTD, ...files], {
    encoding: 'utf8',
    env: { ...process.env, XML_CATALOG_FILES: CATALOG },
  });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}
