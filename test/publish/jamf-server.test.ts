/**
 * The local Jamf Pro server follows Jamf's published contract: token endpoints and their error shapes, request
 * bodies validated against Jamf's schemas (a bad one is 400 and recorded), name uniqueness, a multipart upload read
 * as a stream and hashed (checked against curl as the client and sha256sum as the oracle), distribution-point
 * convergence and the JCDS stale-size quirk, Classic XML (POST id/0 → 201 <root><id>, partial PUT, DELETE 200,
 * GET as XML read back by xmllint), fault injection, and the Macs model (smart groups, policy targets, check-in).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jamfServer } from '../helpers/servers/jamf/vitest.js';
import type { JamfServer } from '../helpers/servers/jamf/server.js';
import { describeWithTools, run } from '../helpers/tools.js';

/** curl in a child process without blocking this one (the server answering it runs here). */
function curl(args: string[]): Promise<{ status: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile('curl', args, { encoding: 'utf8' }, (err, stdout) => resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout }));
  });
}

const tempDir = (prefix: string): string => mkdtempSync(path.join(tmpdir(), `aiwatch-${prefix}-`));

async function token(s: JamfServer): Promise<string> {
  const c = s.clients[0]!;
  const r = await fetch(`${s.url}/api/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: c.id, client_secret: c.secret, grant_type: 'client_credentials' }),
  });
  expect(r.status).toBe(200);
  return ((await r.json()) as { access_token: string }).access_token;
}

async function call(s: JamfServer, t: string, method: string, p: string, body?: unknown, type = 'application/json'): Promise<{ status: number; text: string; json: () => Record<string, unknown>; headers: Headers }> {
  const r = await fetch(`${s.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${t}`, ...(body === undefined ? {} : { 'content-type': type }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, text, json: () => JSON.parse(text) as Record<string, unknown>, headers: r.headers };
}

const PACKAGE = { packageName: 'aiwatch 1.0.0', fileName: 'aiwatch-1.0.0-macos-arm64.pkg', categoryId: '-1', priority: 10, fillUserTemplate: false, osInstall: false, rebootRequired: false, suppressEula: false, suppressFromDock: false, suppressRegistration: false, suppressUpdates: false };

describe('local Jamf Pro server: auth', () => {
  it('client credentials at both token paths; RFC 6749 errors; a token expires', async () => {
    const s = await jamfServer();
    const c = s.clients[0]!;
    for (const p of ['/api/oauth/token', '/api/v1/oauth/token']) {
      const r = await fetch(`${s.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: c.id, client_secret: c.secret, grant_type: 'client_credentials' }) });
      const j = (await r.json()) as Record<string, unknown>;
      expect([r.status, j.token_type, j.expires_in, typeof j.access_token]).toEqual([200, 'Bearer', 60, 'string']);
    }
    const bad = await fetch(`${s.url}/api/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: c.id, client_secret: 'wrong', grant_type: 'client_credentials' }) });
    expect([bad.status, ((await bad.json()) as { error: string }).error]).toEqual([401, 'invalid_client']);
    const asJson = await fetch(`${s.url}/api/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: c.id }) });
    expect([asJson.status, ((await asJson.json()) as { error: string }).error]).toEqual([400, 'invalid_request']);
    expect(s.validationFailures).toEqual(['POST /api/oauth/token: content-type application/json, expected application/x-www-form-urlencoded']);

    const t = await token(s);
    expect((await call(s, t, 'GET', '/api/v1/jamf-pro-version')).json()).toEqual({ version: '11.31.0' });
    s.expireTokens();
    const expired = await call(s, t, 'GET', '/api/v1/packages');
    expect([expired.status, expired.json()]).toEqual([401, { httpStatus: 401, errors: [] }]);
  });

  it('Basic → bearer token, keep-alive rotates it, invalidate ends it; an older server has no OAuth', async () => {
    const s = await jamfServer({ oauth: false });
    const u = s.users[0]!;
    const r = await fetch(`${s.url}/api/v1/auth/token`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${u.username}:${u.password}`).toString('base64')}` } });
    const first = ((await r.json()) as { token: string; expires: string });
    expect(Date.parse(first.expires)).toBeGreaterThan(Date.now());
    const k = await call(s, first.token, 'POST', '/api/v1/auth/keep-alive');
    const second = k.json().token as string;
    expect((await call(s, first.token, 'GET', '/api/v1/packages')).status).toBe(401);
    expect((await call(s, second, 'GET', '/api/v1/packages')).status).toBe(200);
    expect((await call(s, second, 'POST', '/api/v1/auth/invalidate-token')).status).toBe(204);
    expect((await call(s, second, 'GET', '/api/v1/packages')).status).toBe(401);
    const noOauth = await fetch(`${s.url}/api/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
    expect(noOauth.status).toBe(404);
  });
});

describe('local Jamf Pro server: Jamf Pro API bodies', () => {
  it('a Package is validated (missing required field, unknown field, wrong type → 400 ApiError and a recorded failure); names are unique', async () => {
    const s = await jamfServer();
    const t = await token(s);
    const created = await call(s, t, 'POST', '/api/v1/packages', PACKAGE);
    expect(created.status).toBe(201);
    expect(created.json().id).toBe('1');
    const dup = await call(s, t, 'POST', '/api/v1/packages', { ...PACKAGE, fileName: 'other.pkg' });
    expect([dup.status, (dup.json().errors as { code: string; field: string }[])[0]]).toEqual([400, { code: 'DUPLICATE_FIELD', field: 'packageName', description: 'packageName "aiwatch 1.0.0" is already in use', id: '0' }]);
    expect(s.validationFailures).toEqual([]);
    const { priority: _drop, ...noPriority } = PACKAGE;
    expect((await call(s, t, 'POST', '/api/v1/packages', { ...noPriority, packageName: 'x', fileName: 'x.pkg' })).status).toBe(400);
    expect((await call(s, t, 'POST', '/api/v1/packages', { ...PACKAGE, packageName: 'y', fileName: 'y.pkg', packagename: 'typo' })).status).toBe(400);
    expect((await call(s, t, 'POST', '/api/v1/packages', { ...PACKAGE, packageName: 'z', fileName: 'z.pkg', osInstall: 'no' })).status).toBe(400);
    expect(s.validationFailures).toEqual([
      "POST /api/v1/packages: (body) must have required property 'priority'",
      'POST /api/v1/packages: /packagename is not a field of Package in Jamf\'s API description',
      'POST /api/v1/packages: /osInstall must be boolean',
    ]);
    const list = await call(s, t, 'GET', `/api/v1/packages?filter=${encodeURIComponent('packageName=="aiwatch 1.0.0"')}`);
    expect(list.json().totalCount).toBe(1);
    expect((await call(s, t, 'GET', `/api/v1/packages?filter=${encodeURIComponent('packageName=="nothing"')}`)).json()).toEqual({ totalCount: 0, results: [] });
  });

  it('smart group v2 (POST 201, PUT 202), extension attribute (PUT 202), category; duplicates 400', async () => {
    const s = await jamfServer();
    const t = await token(s);
    const g = { name: 'AI Watch', description: 'd', criteria: [{ name: 'Computer Name', andOr: 'and', searchType: 'like', value: 'mac', priority: 0 }] };
    const c = await call(s, t, 'POST', '/api/v2/computer-groups/smart-groups', g);
    expect(c.status).toBe(201);
    expect((await call(s, t, 'PUT', `/api/v2/computer-groups/smart-groups/${c.json().id as string}`, { ...g, description: 'e' })).status).toBe(202);
    expect((await call(s, t, 'POST', '/api/v2/computer-groups/smart-groups', g)).status).toBe(400);
    const ea = { name: 'aiwatch version', dataType: 'STRING', inputType: 'SCRIPT', inventoryDisplayType: 'EXTENSION_ATTRIBUTES', scriptContents: '#!/bin/sh\necho "<result>1</result>"', enabled: true, description: 'x' };
    const e = await call(s, t, 'POST', '/api/v1/computer-extension-attributes', ea);
    expect(e.status).toBe(201);
    expect((await call(s, t, 'PUT', `/api/v1/computer-extension-attributes/${e.json().id as string}`, ea)).status).toBe(202);
    expect((await call(s, t, 'POST', '/api/v1/computer-extension-attributes', { ...ea, inputType: 'NOPE' })).status).toBe(400);
    expect((await call(s, t, 'POST', '/api/v1/categories', { name: 'Security', priority: 9 })).status).toBe(201);
    expect(s.validationFailures).toEqual(['POST /api/v1/computer-extension-attributes: /inputType must be equal to one of the allowed values']);
    expect((await call(s, t, 'GET', '/api/v2/computer-groups/smart-groups?filter=name%3D%3D%22AI%20Watch%22')).json().results).toEqual([{ id: '1', name: 'AI Watch', description: 'e', membershipCount: 0, siteId: '-1' }]);
  });
});

describeWithTools(['curl', 'sha256sum', 'xmllint'], 'local Jamf Pro server: upload and Classic XML, with independent clients', () => {
  it('curl -F uploads a file: hashed as streamed, PENDING then READY with the hash and size sha256sum gives', async () => {
    const s = await jamfServer({ convergeAfterReads: 2, staleSizeReads: 1 });
    const t = await token(s);
    expect((await call(s, t, 'POST', '/api/v1/packages', PACKAGE)).status).toBe(201);
    const dir = tempDir('jamf-upload');
    const file = path.join(dir, PACKAGE.fileName);
    writeFileSync(file, Buffer.alloc(3 * 1024 * 1024 + 17, 7));
    const out = (await curl(['-sS', '-o', '-', '-w', '\n%{http_code}', '-H', `authorization: Bearer ${t}`, '-F', `file=@${file}`, `${s.url}/api/v1/packages/1/upload`])).stdout;
    expect(out.trim().split('\n').pop()).toBe('201');
    const sha256 = run('sha256sum', [file]).split(' ')[0];
    const read = async (): Promise<Record<string, unknown>> => (await call(s, t, 'GET', '/api/v1/packages/1')).json();
    const views = [await read(), await read(), await read(), await read()];
    expect(views.map((v) => [v.cloudTransferStatus, v.sha256, v.size])).toEqual([
      ['PENDING', null, null],
      ['PENDING', null, null],
      ['READY', sha256, null],
      ['READY', sha256, String(3 * 1024 * 1024 + 17)],
    ]);
    expect([views[3]!.hashType, views[3]!.hashValue]).toEqual(['SHA_512', createHash('sha512').update(Buffer.alloc(3 * 1024 * 1024 + 17, 7)).digest('hex')]);
    expect(s.store.packages.get(1)!.uploaded).toEqual({ fileName: PACKAGE.fileName, size: 3 * 1024 * 1024 + 17, sha256 });
    expect(s.validationFailures).toEqual([]);
  });

  it('faults: a reset mid-upload leaves the package as it was; a token expiring during the body is 401 at the end; 429 carries Retry-After', async () => {
    const s = await jamfServer();
    const t = await token(s);
    await call(s, t, 'POST', '/api/v1/packages', PACKAGE);
    const dir = tempDir('jamf-upload-fault');
    const file = path.join(dir, 'f.pkg');
    writeFileSync(file, Buffer.alloc(2 * 1024 * 1024, 1));
    s.inject({ path: /\/upload$/, action: { resetAfterBytes: 512 * 1024 } });
    const cut = await curl(['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', `authorization: Bearer ${t}`, '-F', `file=@${file}`, `${s.url}/api/v1/packages/1/upload`]);
    expect(cut.status).not.toBe(0);
    expect(s.store.packages.get(1)!.uploaded).toBeUndefined();
    s.inject({ path: /\/upload$/, action: { expireToken: 'during-body' } });
    const late = await curl(['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', `authorization: Bearer ${t}`, '-F', `file=@${file}`, `${s.url}/api/v1/packages/1/upload`]);
    expect(late.stdout).toBe('401');
    expect(s.store.packages.get(1)!.uploaded).toBeUndefined();
    const t2 = await token(s);
    s.inject({ method: 'GET', path: /^\/api\/v1\/packages$/, action: { status: 429, retryAfter: 3 } });
    const busy = await call(s, t2, 'GET', '/api/v1/packages');
    expect([busy.status, busy.headers.get('retry-after')]).toEqual([429, '3']);
    expect((await call(s, t2, 'GET', '/api/v1/packages')).status).toBe(200);
    expect(s.faultsFired).toEqual(['reset-after-524288-bytes POST /api/v1/packages/1/upload', 'token-expires-during-body POST /api/v1/packages/1/upload', '429 GET /api/v1/packages']);
  });

  it('Classic: POST id/0 → 201 <policy><id>N</id></policy>, GET by name as XML (xmllint reads it) and JSON, partial PUT, duplicate 409, DELETE 200', async () => {
    const s = await jamfServer();
    const t = await token(s);
    await call(s, t, 'POST', '/api/v1/packages', PACKAGE);
    await call(s, t, 'POST', '/api/v2/computer-groups/smart-groups', { name: 'AI Watch', criteria: [] });
    const xml = `<?xml version="1.0" encoding="UTF-8"?><policy><general><name>AI Watch agent</name><enabled>true</enabled><trigger_checkin>true</trigger_checkin><frequency>Once per computer</frequency></general>
      <scope><all_computers>false</all_computers><computer_groups><size>1</size><computer_group><name>AI Watch</name></computer_group></computer_groups></scope>
      <package_configuration><packages><size>1</size><package><id>1</id><action>Install</action></package></packages></package_configuration></policy>`;
    const created = await call(s, t, 'POST', '/JSSResource/policies/id/0', xml, 'application/xml');
    expect([created.status, created.text.replace(/\s+/g, '')]).toEqual([201, '<?xmlversion="1.0"encoding="UTF-8"?><policy><id>3</id></policy>']);
    const got = await call(s, t, 'GET', '/JSSResource/policies/name/AI%20Watch%20agent');
    const dir = tempDir('jamf-classic');
    writeFileSync(path.join(dir, 'p.xml'), got.text);
    expect(run('xmllint', ['--xpath', 'string(/policy/scope/computer_groups/computer_group/id)', path.join(dir, 'p.xml')]).trim()).toBe('2');
    expect(run('xmllint', ['--xpath', 'string(/policy/package_configuration/packages/package/name)', path.join(dir, 'p.xml')]).trim()).toBe('aiwatch 1.0.0');
    const asJson = await fetch(`${s.url}/JSSResource/policies/id/3`, { headers: { authorization: `Bearer ${t}`, accept: 'application/json' } });
    const pj = (await asJson.json()) as { policy: { scope: { computer_groups: unknown[] }; general: { frequency: string } } };
    expect([pj.policy.general.frequency, pj.policy.scope.computer_groups]).toEqual(['Once per computer', [{ id: 2, name: 'AI Watch' }]]);
    const put = await call(s, t, 'PUT', '/JSSResource/policies/id/3', '<policy><general><enabled>false</enabled></general></policy>', 'text/xml');
    expect(put.status).toBe(201);
    expect(s.store.policies.get(3)!.body.general).toMatchObject({ name: 'AI Watch agent', enabled: false, frequency: 'Once per computer' });
    expect((await call(s, t, 'POST', '/JSSResource/policies/id/0', xml, 'application/xml')).status).toBe(409);
    expect(s.validationFailures).toEqual([]);
    const badType = await call(s, t, 'POST', '/JSSResource/policies/id/0', '<policy><general><name>x</name><enabled>yes</enabled></general></policy>', 'application/xml');
    const badGroup = await call(s, t, 'POST', '/JSSResource/policies/id/0', '<policy><general><name>y</name></general><scope><computer_groups><computer_group><name>nope</name></computer_group></computer_groups></scope></policy>', 'application/xml');
    const badRoot = await call(s, t, 'POST', '/JSSResource/policies/id/0', '<os_x_configuration_profile><general><name>z</name></general></os_x_configuration_profile>', 'application/xml');
    expect([badType.status, badGroup.status, badRoot.status]).toEqual([400, 409, 400]);
    expect(s.validationFailures).toEqual(['POST /JSSResource/policies/id/0: /general/enabled must be boolean', 'POST /JSSResource/policies/id/0: XML body: root element <os_x_configuration_profile>, expected <policy>']);
    expect((await call(s, t, 'DELETE', '/JSSResource/policies/id/3')).status).toBe(200);
    expect((await call(s, t, 'GET', '/JSSResource/policies/id/3')).status).toBe(404);
  });
});

describe('local Jamf Pro server: the Macs model and the request log', () => {
  it('a version-aware smart group and a once-per-computer policy: who is targeted before and after a check-in and a version change', async () => {
    const s = await jamfServer();
    const t = await token(s);
    s.store.addMac('mac-old', { 'aiwatch version': '1.0.0' });
    s.store.addMac('mac-new', { 'aiwatch version': '1.1.0' });
    s.store.addMac('mac-none');
    await call(s, t, 'POST', '/api/v1/computer-extension-attributes', { name: 'aiwatch version', dataType: 'STRING', inputType: 'SCRIPT', inventoryDisplayType: 'EXTENSION_ATTRIBUTES', scriptContents: 'x' });
    await call(s, t, 'POST', '/api/v2/computer-groups/smart-groups', { name: 'Scope', criteria: [{ name: 'Computer Name', andOr: 'and', searchType: 'like', value: 'mac-', priority: 0 }] });
    await call(s, t, 'POST', '/api/v2/computer-groups/smart-groups', { name: 'Needs 1.1.0', criteria: [{ name: 'Computer Group', andOr: 'and', searchType: 'member of', value: 'Scope', priority: 0 }, { name: 'aiwatch version', andOr: 'and', searchType: 'is not', value: '1.1.0', priority: 1 }] });
    await call(s, t, 'POST', '/api/v1/packages', { ...PACKAGE, packageName: 'aiwatch 1.1.0', fileName: 'aiwatch-1.1.0-macos-arm64.pkg' });
    const policy = '<policy><general><name>AI Watch</name><enabled>true</enabled><trigger_checkin>true</trigger_checkin><frequency>Once per computer</frequency></general><scope><computer_groups><computer_group><name>Needs 1.1.0</name></computer_group></computer_groups></scope><package_configuration><packages><package><name>aiwatch 1.1.0</name><action>Install</action></package></packages></package_configuration></policy>';
    expect((await call(s, t, 'POST', '/JSSResource/policies/id/0', policy, 'application/xml')).status).toBe(201);
    expect(s.store.policyTargets('AI Watch')).toEqual(['mac-none', 'mac-old']);
    expect(s.store.checkIn('mac-old', { versionEa: 'aiwatch version' })).toEqual(['AI Watch']);
    expect(s.store.macs.find((m) => m.name === 'mac-old')!.eas['aiwatch version']).toBe('1.1.0');
    expect(s.store.policyTargets('AI Watch')).toEqual(['mac-none']);
    // (a OR b) AND c with parentheses, and AND binding tighter than OR without them.
    const g = { id: 99, name: 'p', smart: true, description: '', siteId: '-1', members: [] };
    const crit = (name: string, andOr: string, value: string, o = false, c = false, priority = 0) => ({ name: 'Computer Name', andOr, searchType: 'is', value: name === '' ? value : name, priority, openingParen: o, closingParen: c });
    s.store.groups.set(99, { ...g, criteria: [crit('mac-old', 'and', '', true, false, 0), crit('mac-new', 'or', '', false, true, 1), crit('mac-none', 'and', '', false, false, 2)] });
    expect(s.store.members(s.store.groups.get(99)!)).toEqual([]);
    s.store.groups.set(99, { ...g, criteria: [crit('mac-old', 'and', '', false, false, 0), crit('mac-new', 'or', '', false, false, 1), crit('mac-none', 'and', '', false, false, 2)] });
    expect(s.store.members(s.store.groups.get(99)!).length).toBe(1);
    expect(s.countsByObject()).toMatchObject({ auth: { reads: 1, writes: 0 }, 'extension-attribute': { writes: 1 }, 'smart-group': { writes: 2 }, package: { writes: 1 }, policy: { writes: 1 } });
    expect(s.counts()).toEqual({ reads: 0, writes: 5, auth: 1 });
    expect([s.validationFailures, s.unknownRequests]).toEqual([[], []]);
  });
});
