/**
 * A small ReleaseContent and ResolvedTarget for the Jamf driver's unit tests: a pkg of `size` bytes made from a
 * repeating pattern (streamed in 64 KiB chunks, hashes computed once), the default spec's profiles as stand-in bytes,
 * trust facts to toggle, and a tenant with secrets.
 */
import { loadDefaultSpec } from '../../../src/config/spec.js';
import { createHash } from 'node:crypto';
import type { ReleaseContent, ResolvedTarget } from '../../../src/rollout/model.js';
import { Secret } from '../../../src/secret.js';

export const ORG_KEY = 'rl_org_JamfDriverUnitTestKey0123456789';

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
  return {
    version,
    spec: loadDefaultSpec(),
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
    profiles: {
      pppc: Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict><key>PayloadDisplayName</key><string>PPPC &amp; co</string></dict></plist>\n'),
      loginItems: Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict><key>PayloadDisplayName</key><string>Login items</string></dict></plist>\n'),
    },
    trust: { developerIdSigned: true, notarizedStapled: true, pppcMatchesBinary: true, problems: [], ...opts.trust },
  };
}

export function fakeTarget(url: string, over: Partial<ResolvedTarget> = {}): ResolvedTarget {
  return {
    name: 'acme',
    mdm: 'jamf',
    url,
    credentials: { clientId: 'aiwatch-ci', clientSecret: new Secret('cs-unit-test-secret', 'clientSecret') },
    tenant: { Host: 'https://acme.runlayer.com', OrgApiKey: new Secret(ORG_KEY, 'OrgApiKey') },
    scope: { smartGroup: { name: 'AI Watch', criteria: [{ name: 'Operating System Version', searchType: 'greater than or equal', value: '13.0', andOr: 'and' }] } },
    testServer: false,
    options: {},
    ...over,
  };
}
