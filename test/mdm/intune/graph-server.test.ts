// The local Intune server itself (test/helpers/servers/intune) refuses what Microsoft's Graph would refuse, so the
// driver tests that find its lists empty mean something: a body with a field the description does not have, a wrong
// enum value, a read-only field, a polymorphic create without @odata.type, a type cast that is not the app's; it takes
// the three path forms of the type cast; a commit whose encryption info does not match the blob ends in
// commitFileFailed with the reason; a SAS past its expiry is refused by Azurite itself (403). Its token endpoint
// checks a certificate's client assertion (signature, x5t#S256, claims) and a federated token's issuer and subject.
import { execFileSync } from 'node:child_process';
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IntuneAuth } from '../../../src/mdm/intune/auth.js';
import { Secret } from '../../../src/secret.js';
import type { IntuneServer } from '../../helpers/servers/intune/server.js';
import { intuneServer, useAzurite } from '../../helpers/servers/intune/vitest.js';

useAzurite();
const CLIENT = { id: '11111111-2222-3333-4444-555555555555', secret: 'graph-server-test-secret' };

async function signIn(g: IntuneServer): Promise<(method: string, path: string, body?: unknown) => Promise<{ status: number; json: Record<string, unknown> }>> {
  const form = new URLSearchParams({ client_id: CLIENT.id, client_secret: CLIENT.secret, scope: `${g.url}/.default`, grant_type: 'client_credentials' });
  const t = await fetch(`${g.url}/${g.tenantId}/oauth2/v2.0/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
  expect(t.status).toBe(200);
  const token = ((await t.json()) as { access_token: string }).access_token;
  return async (method, path, body) => {
    const r = await fetch(`${g.graphUrl}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body !== undefined ? JSON.stringify(body) : undefined });
    const text = await r.text();
    return { status: r.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
}

const PKG = { '@odata.type': '#microsoft.graph.macOSPkgApp', displayName: 'x', fileName: 'x.pkg', primaryBundleId: 'com.x', primaryBundleVersion: '1.0', includedApps: [{ bundleId: 'com.x', bundleVersion: '1.0' }], ignoreVersionDetection: false };

describe('the local Intune server', () => {
  it('refuses bodies Graph would refuse, in Graph error shape, and lists each in validationFailures', async () => {
    const g = await intuneServer({ clients: [CLIENT] });
    const graph = await signIn(g);
    const bad = [
      await graph('POST', '/deviceAppManagement/mobileApps', { ...PKG, primaryBundleVersoin: '1.0' }),
      await graph('POST', '/deviceAppManagement/mobileApps', { ...PKG, '@odata.type': undefined }),
      await graph('POST', '/deviceAppManagement/mobileApps', { ...PKG, isAssigned: true }),
      await graph('POST', '/deviceManagement/deviceConfigurations', { '@odata.type': '#microsoft.graph.macOSCustomConfiguration', displayName: 'p', payloadName: 'p', payload: 'PD94', deploymentChannel: 'everywhere' }),
      await graph('POST', '/deviceManagement/deviceHealthScripts', { displayName: 'h', runAsAccount: 'system', runAs32Bit: 'no' }),
    ];
    expect(bad.map((r) => r.status)).toEqual([400, 400, 400, 400, 400]);
    expect((bad[0]!.json.error as { code: string }).code).toBe('BadRequest');
    expect(g.validationFailures.join('\n')).toMatch(/must NOT have additional properties: primaryBundleVersoin/);
    expect(g.validationFailures.join('\n')).toMatch(/must have required property '@odata.type'/);
    expect(g.validationFailures.join('\n')).toMatch(/additional properties: isAssigned/);
    expect(g.validationFailures.join('\n')).toMatch(/\/deploymentChannel must be equal to one of the allowed values/);
    expect(g.validationFailures.join('\n')).toMatch(/\/runAs32Bit must be boolean/);
    expect(g.store.objects.mobileApps.size + g.store.objects.deviceConfigurations.size).toBe(0);
    g.validationFailures.length = 0;
  });

  it('refuses custom attribute script bodies Graph would refuse (enum, unknown field, assign member)', async () => {
    const g = await intuneServer({ clients: [CLIENT] });
    const graph = await signIn(g);
    const attr = { '@odata.type': '#microsoft.graph.deviceCustomAttributeShellScript', displayName: 'a', customAttributeName: 'A', customAttributeType: 'string', fileName: 'a.sh', scriptContent: 'IyEvYmluL3No', runAsAccount: 'system' };
    const bad = [
      await graph('POST', '/deviceManagement/deviceCustomAttributeShellScripts', { ...attr, customAttributeType: 'text' }),
      await graph('POST', '/deviceManagement/deviceCustomAttributeShellScripts', { ...attr, runAs32Bit: false }),
    ];
    expect(bad.map((r) => r.status)).toEqual([400, 400]);
    const made = await graph('POST', '/deviceManagement/deviceCustomAttributeShellScripts', attr);
    expect(made.status).toBe(201);
    const target = { '@odata.type': '#microsoft.graph.groupAssignmentTarget', groupId: '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b' };
    const assign = `/deviceManagement/deviceCustomAttributeShellScripts/${String(made.json.id)}/assign`;
    expect((await graph('POST', assign, { deviceHealthScriptAssignments: [{ target }] })).status).toBe(400);
    expect((await graph('POST', assign, { deviceManagementScriptAssignments: [{ '@odata.type': '#microsoft.graph.deviceManagementScriptAssignment', target }] })).status).toBe(204);
    expect(g.validationFailures.join('\n')).toMatch(/\/customAttributeType must be equal to one of the allowed values/);
    expect(g.validationFailures.join('\n')).toMatch(/additional properties: runAs32Bit/);
    expect(g.validationFailures.join('\n')).toMatch(/additional properties: deviceHealthScriptAssignments/);
    g.validationFailures.length = 0;
  });

  it('takes the three path forms of the type cast; refuses a cast that is not the app type', async () => {
    const g = await intuneServer({ clients: [CLIENT] });
    const graph = await signIn(g);
    const app = await graph('POST', '/deviceAppManagement/mobileApps', PKG);
    expect(app.status).toBe(201);
    const id = String(app.json.id);
    for (const cast of ['microsoft.graph.macOSPkgApp/', 'graph.macOSPkgApp/', '']) expect((await graph('POST', `/deviceAppManagement/mobileApps/${id}/${cast}contentVersions`, {})).status).toBe(201);
    expect((await graph('GET', `/deviceAppManagement/mobileApps/${id}/contentVersions`)).json.value).toHaveLength(3);
    expect((await graph('POST', `/deviceAppManagement/mobileApps/${id}/microsoft.graph.win32LobApp/contentVersions`, {})).status).toBe(400);
    expect(g.validationFailures).toEqual([]);
  });

  it('a commit whose fileEncryptionInfo does not match the blob fails with the reason; an expired SAS is refused by Azurite', async () => {
    const g = await intuneServer({ clients: [CLIENT], storageUriPendingPolls: 0 });
    const graph = await signIn(g);
    const id = String((await graph('POST', '/deviceAppManagement/mobileApps', PKG)).json.id);
    const base = `/deviceAppManagement/mobileApps/${id}/microsoft.graph.macOSPkgApp/contentVersions/1/files`;
    await graph('POST', `/deviceAppManagement/mobileApps/${id}/microsoft.graph.macOSPkgApp/contentVersions`, {});
    const plain = randomBytes(1000);
    const [key, macKey, iv] = [randomBytes(32), randomBytes(32), randomBytes(16)];
    const c = createCipheriv('aes-256-cbc', key, iv);
    const cipher = Buffer.concat([c.update(plain), c.final()]);
    const mac = createHmac('sha256', macKey).update(Buffer.concat([iv, cipher])).digest();
    const blob = Buffer.concat([mac, iv, cipher]);
    const file = (await graph('POST', base, { '@odata.type': '#microsoft.graph.mobileAppContentFile', name: 'x.pkg', size: plain.length, sizeEncrypted: blob.length, manifest: null, isDependency: false })).json;
    const sas = String(file.azureStorageUri);
    expect(sas).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/intune-[^/]+\/[^?]+\?sv=2021-10-04&spr=http&sr=b&si=p\d+&sig=/);
    const put = (query: string, body: Buffer | string): Promise<Response> => fetch(`${sas}&${query}`, { method: 'PUT', body: typeof body === 'string' ? body : new Uint8Array(body) });
    const id0 = Buffer.from('block-000000').toString('base64');
    expect((await put(`comp=block&blockid=${encodeURIComponent(id0)}`, blob)).status).toBe(201);
    expect((await put('comp=blocklist', `<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>${id0}</Latest></BlockList>`)).status).toBe(201);
    const info = { encryptionKey: key.toString('base64'), macKey: macKey.toString('base64'), initializationVector: iv.toString('base64'), mac: mac.toString('base64'), profileIdentifier: 'ProfileVersion1', fileDigest: createHash('sha256').update(randomBytes(8)).digest('base64'), fileDigestAlgorithm: 'SHA256' };
    expect((await graph('POST', `${base}/${String(file.id)}/commit`, { fileEncryptionInfo: info })).status).toBe(204);
    expect((await graph('GET', `${base}/${String(file.id)}`)).json.uploadState).toBe('commitFileFailed');
    expect(g.commitProblems).toEqual([expect.stringMatching(/SHA-256 of the decrypted content differs from fileEncryptionInfo.fileDigest/)]);
    expect(g.contents).toEqual([]);
    g.commitProblems.length = 0;

    await g.expireSas();
    const refused = await put(`comp=block&blockid=${encodeURIComponent(id0)}`, blob);
    expect(refused.status).toBe(403);
    // Azurite's code for a SAS outside its time frame (Azure says AuthenticationFailed); the driver goes by the 403.
    expect(refused.headers.get('x-ms-error-code')).toBe('AuthorizationFailure');
    expect(g.validationFailures).toEqual([]);
  });

  it("token endpoint: a certificate assertion verified with the registered certificate, a federated token by issuer and subject; others refused", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'intune-token-'));
    const cert = (name: string): string => {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.crt`), '-days', '2', '-subj', `/CN=${name}`], { stdio: 'ignore' });
      return readFileSync(path.join(dir, `${name}.key`), 'utf8') + readFileSync(path.join(dir, `${name}.crt`), 'utf8');
    };
    const [registered, other] = [cert('registered'), cert('other')];
    const fed = { issuer: 'https://token.actions.githubusercontent.com', subject: 'repo:acme/aiwatch-release:ref:refs/heads/main' };
    const g = await intuneServer({ clients: [{ id: CLIENT.id, certificatePem: registered.slice(registered.indexOf('-----BEGIN CERTIFICATE')) }, { id: '22222222-3333-4444-5555-666666666666', federated: fed }] });
    const sign = (clientId: string, credential: ConstructorParameters<typeof IntuneAuth>[0]['credential']): Promise<string> =>
      new IntuneAuth({ tenantId: g.tenantId, clientId, credential, authority: g.url, graphUrl: g.graphUrl }, { retries: 0 }, 'intune t').header();
    expect(await sign(CLIENT.id, { kind: 'certificate', certificate: new Secret(registered, 'certificate') })).toMatch(/^Bearer /);
    await expect(sign(CLIENT.id, { kind: 'certificate', certificate: new Secret(other, 'certificate') })).rejects.toThrow(/refused with HTTP 401 \(invalid_client, AADSTS700027\)/);
    const jwt = (claims: Record<string, unknown>): string => `${Buffer.from('{"alg":"RS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 600, ...claims })).toString('base64url')}.c2ln`;
    const good = jwt({ iss: fed.issuer, sub: fed.subject, aud: 'api://AzureADTokenExchange' });
    expect(await sign('22222222-3333-4444-5555-666666666666', { kind: 'federated-file', token: new Secret(good, 'federatedToken') })).toMatch(/^Bearer /);
    const wrongRepo = jwt({ iss: fed.issuer, sub: 'repo:evil/fork:ref:refs/heads/main', aud: 'api://AzureADTokenExchange' });
    await expect(sign('22222222-3333-4444-5555-666666666666', { kind: 'federated-file', token: new Secret(wrongRepo, 'federatedToken') })).rejects.toThrow(/HTTP 401 \(invalid_client/);
    expect(g.validationFailures).toEqual([]);
  });
});
