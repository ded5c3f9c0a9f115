/**
 * Shared by the Intune end-to-end publish tests: a rollout file with Intune targets on local Intune servers
 * (test/helpers/servers/intune, content in Azurite), the planted client secret, and the check that every server
 * saw only bodies that match Microsoft's description and only content that decrypts.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { IntuneServer } from '../helpers/servers/intune/server.js';
import { SECRETS } from './publish-helpers.js';

export const INTUNE_CLIENT_ID = '66666666-7777-8888-9999-000000000000';
export const INTUNE_GROUP = '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';

/**
 * Server options of the publish tests: our app registration with the planted secret, and a SAS ready at the first
 * read (the driver waits 2 s between polls and the CLI has no knob for it; the pending read has its own tests in
 * test/mdm/intune/driver.test.ts).
 */
export const INTUNE_OPTIONS = { clients: [{ id: INTUNE_CLIENT_ID, secret: SECRETS.clientSecret }], storageUriPendingPolls: 0 };

/** Write `rollout.yaml` with one Intune target per server (Windows objects too, or `o.options`), and the 0600 client secret file. */
export function writeIntuneRollout(dir: string, zip: string, servers: { name: string; s: IntuneServer }[], o: { testServer?: boolean; options?: string } = {}): string {
  writeFileSync(path.join(dir, 'client.secret'), `${SECRETS.clientSecret}\n`, { mode: 0o600 });
  writeFileSync(
    path.join(dir, 'rollout.yaml'),
    `release: { zip: ${zip} }
defaults:
  mdm: intune
  testServer: ${o.testServer ?? true}
  tenant: { Host: "https://acme.runlayer.com", OrgApiKey: { env: ORG_KEY }, EnrollmentKey: { env: ENROLL_KEY } }
  scope: { group: ${INTUNE_GROUP} }
targets:
${servers
  .map(
    ({ name, s }) => `  - name: ${name}
    url: "${s.graphUrl}"
    credentials: { tenantId: ${s.tenantId}, clientId: ${INTUNE_CLIENT_ID}, clientSecret: { file: client.secret } }
    options: { authority: "${s.url}", ${o.options ?? 'windows: true'} }`,
  )
  .join('\n')}
`,
  );
  return 'rollout.yaml';
}

/** Every body matched Microsoft's description, every path is modelled, every commit decrypted. */
export function cleanIntune(s: IntuneServer): void {
  expect(s.validationFailures).toEqual([]);
  expect(s.unknownRequests).toEqual([]);
  expect(s.commitProblems).toEqual([]);
}

/** The access tokens the server handed out: none may appear in any output either. */
export function leakedTokens(s: IntuneServer, ...texts: string[]): string[] {
  const all = texts.join('\n');
  return [...s.tokens.keys()].filter((t) => all.includes(t));
}
