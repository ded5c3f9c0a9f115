/**
 * A small ReleaseContent and ResolvedTarget for the Fleet driver's unit tests: a pkg of `size` bytes from a
 * repeating pattern (streamed in 64 KiB chunks), the default spec's real PPPC and login-items profiles, trust facts
 * to toggle, and a tenant with secrets.
 */
import { createHash } from 'node:crypto';
import { loadDefaultSpec } from '../../../src/config/spec.js';
import { planProfiles, profileFileNames } from '../../../src/profiles/plan.js';
import type { ReleaseContent, ResolvedTarget } from '../../../src/rollout/model.js';
import { Secret } from '../../../src/secret.js';

export const ORG_KEY = 'rl_org_FleetDriverUnitTestKey0123456789';
export const ENROLL_KEY = 'rl_enroll_FleetDriverUnitTestKey0123456';

function* chunks(size: number, seed: number): Generator<Uint8Array> {
  const block = Buffer.alloc(64 * 1024);
  for (let i = 0; i < block.length; i++) block[i] = (i * 31 + seed) & 0xff;
  for (let done = 0; done < size; done += block.length) yield block.subarray(0, Math.min(block.length, size - done));
}

export function fakeRelease(opts: { version?: string; size?: number; seed?: number; trust?: Partial<ReleaseContent['trust']> } = {}): ReleaseContent {
  const version = opts.version ?? '1.2.0';
  const size = opts.size ?? 200_000;
  const seed = opts.seed ?? 7;
  const h = { md5: createHash('md5'), sha256: createHash('sha256'), sha512: createHash('sha512') };
  for (const c of chunks(size, seed)) for (const x of Object.values(h)) x.update(c);
  const spec = loadDefaultSpec();
  const names = profileFileNames(spec);
  const artifacts = planProfiles(spec);
  const bytesOf = (p: string): Uint8Array => artifacts.find((a) => a.path === p)!.bytes as Uint8Array;
  return {
    version,
    spec,
    pkg: {
      fileName: `aiwatch-${version}-macos-arm64.pkg`,
      size,
      md5: h.md5.digest('hex'),
      sha256: h.sha256.digest('hex'),
      sha512: h.sha512.digest('hex'),
      read: async function* () {
        yield* chunks(size, seed);
      },
    },
    profiles: { pppc: bytesOf(names.pppc), loginItems: bytesOf(names.loginItems) },
    trust: { developerIdSigned: true, notarizedStapled: true, pppcMatchesBinary: true, problems: [], ...opts.trust },
  };
}

export function fakeTarget(url: string, token: string, over: Partial<ResolvedTarget> = {}): ResolvedTarget {
  return {
    name: 'acme',
    mdm: 'fleet',
    url,
    credentials: { apiToken: new Secret(token, 'apiToken') },
    tenant: { Host: 'https://acme.runlayer.com', OrgApiKey: new Secret(ORG_KEY, 'OrgApiKey'), EnrollmentKey: new Secret(ENROLL_KEY, 'EnrollmentKey') },
    scope: { group: 'macOS' },
    testServer: false,
    options: { team_id: 3 },
    ...over,
  };
}
