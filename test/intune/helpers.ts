/** Shared inputs for the Intune tests: the default spec, made-up keys, and tenants built through real validation. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDefaultSpec } from '../../src/config/spec.js';
import { parseTenantInput, type RawTenantValues } from '../../src/config/tenant.js';
import type { TenantInput } from '../../src/config/spec-types.js';
import { normaliseCaBundle } from '../../src/intune/intune-checks.js';
import type { IntuneInput } from '../../src/intune/intune.js';
import { Secret } from '../../src/secret.js';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const FIXTURES = path.join(HERE, '../fixtures/intune');
export const GOLDEN = path.join(HERE, '../golden/intune');

/** Made-up keys of the right shape; never real. */
export const ORG_KEY = 'rl_org_TESTONLY7f3a9c2e1b8d4f6a0c5e';
export const ENROLL_KEY = 'rl_enroll_TESTONLY2d9e4b7a1c6f8e3b5a0d';
export const HOST = 'https://acme.runlayer.com';

export const spec = loadDefaultSpec();

export function tenant(raw: Partial<RawTenantValues> = {}): TenantInput {
  return parseTenantInput(spec, { Host: HOST, OrgApiKey: new Secret(ORG_KEY, 'OrgApiKey'), ...raw }, 'test');
}

export function proxyCaPem(): string {
  return normaliseCaBundle(readFileSync(path.join(FIXTURES, 'proxy-ca.pem'), 'utf8'), 'proxy-ca.pem');
}

/** The two rendering variants kept as golden files. */
export const VARIANTS: Record<string, () => IntuneInput> = {
  detect: () => ({ spec, tenant: tenant() }),
  full: () => ({
    spec,
    tenant: tenant({ EnrollmentKey: new Secret(ENROLL_KEY, 'EnrollmentKey'), Enforcement: false, Sessions: true }),
    options: { caBundlePem: proxyCaPem() },
  }),
};
