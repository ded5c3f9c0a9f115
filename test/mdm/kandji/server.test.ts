/**
 * The local Kandji server is an oracle only if it can say no: bodies with a field Kandji does not document, a missing
 * required field or a value outside an enum are refused; the S3 bucket refuses a POST with a wrong signature, an
 * expired policy, a field the policy does not cover, a file over the size range, a field after the file, and a Kandji
 * token. Each case is sent by hand here (not through our client), and what the server answered is checked.
 */
import { describe, expect, it } from 'vitest';
import { multipartFileBody } from '../../../src/net/multipart.js';
import type { KandjiServer } from '../../helpers/servers/kandji/server.js';
import { formSchema, jsonSchema } from '../../helpers/servers/kandji/schemas.js';
import { kandjiServer } from '../../helpers/servers/kandji/vitest.js';

async function call(s: KandjiServer, method: string, path: string, body: string, type: string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${s.url}${path}`, { method, headers: { authorization: `Bearer ${s.token}`, 'content-type': type }, body });
  return { status: r.status, text: await r.text() };
}

/** A presigned POST of `file` to the slot's URL, with the slot's fields changed by `edit`. */
async function s3Post(slot: { post_url: string; post_data: Record<string, string> }, file: Uint8Array, edit: (f: Record<string, string>) => Record<string, string> = (f) => f, headers: Record<string, string> = {}, after?: Record<string, string>): Promise<{ status: number; text: string }> {
  const form = multipartFileBody({ field: 'file', fileName: 'a.pkg', contentType: 'application/octet-stream', size: file.length, read: async function* () { yield file; } }, edit({ ...slot.post_data }));
  const chunks: Uint8Array[] = [];
  for await (const c of form.body.open()) chunks.push(c);
  if (after) for (const [k, v] of Object.entries(after)) chunks.splice(chunks.length - 1, 1, Buffer.from(`\r\n--${form.contentType.split('boundary=')[1]}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}`), chunks.at(-1)!);
  const r = await fetch(slot.post_url, { method: 'POST', headers: { 'content-type': form.contentType, ...headers }, body: Buffer.concat(chunks) });
  return { status: r.status, text: await r.text() };
}

async function slot(s: KandjiServer): Promise<{ post_url: string; post_data: Record<string, string>; file_key: string }> {
  const r = await call(s, 'POST', '/api/v1/library/custom-apps/upload', JSON.stringify({ name: 'a.pkg' }), 'application/json');
  expect(r.status).toBe(201);
  return JSON.parse(r.text) as { post_url: string; post_data: Record<string, string>; file_key: string };
}

describe('the local Kandji server refuses what Kandji documents as wrong', () => {
  it('derives its schemas from the collection: required fields, enums, conditions, nothing else allowed', () => {
    const create = formSchema('/api/v1/library/custom-apps POST') as { required: string[]; properties: Record<string, { enum?: string[] }>; additionalProperties: boolean; allOf: unknown[] };
    expect(create.required).toEqual(['name', 'file_key', 'install_type', 'install_enforcement']);
    expect(create.properties.install_enforcement!.enum).toEqual(['install_once', 'continuously_enforce', 'no_enforcement']);
    expect(create.properties.active!.enum).toEqual(['true', 'false']);
    expect(create.additionalProperties).toBe(false);
    expect(create.allOf).toHaveLength(3); // unzip_location, audit_script, self_service_category_id
    expect((formSchema('/api/v1/library/custom-profiles POST') as { required: string[] }).required).toEqual(['name', 'file']);
    expect(jsonSchema('/api/v1/library/custom-apps/upload POST')).toMatchObject({ required: ['name'] });
    expect(jsonSchema('/api/v1/blueprints/:blueprint_id/assign-library-item POST')).toMatchObject({ required: ['library_item_id'], properties: { assignment_node_id: {} } });
  });

  it('an unknown field, a missing required field, a bad enum, continuously_enforce without an audit script: 400 and recorded', async () => {
    const s = await kandjiServer();
    const { file_key } = await slot(s);
    const form = (o: Record<string, string>): string => new URLSearchParams(o).toString();
    const type = 'application/x-www-form-urlencoded';
    const cases = [
      form({ name: 'x', file_key, install_type: 'package', install_enforcement: 'install_once', colour: 'red' }),
      form({ name: 'x', install_type: 'package', install_enforcement: 'install_once' }),
      form({ name: 'x', file_key, install_type: 'pkg', install_enforcement: 'install_once' }),
      form({ name: 'x', file_key, install_type: 'package', install_enforcement: 'continuously_enforce' }),
    ];
    for (const body of cases) expect((await call(s, 'POST', '/api/v1/library/custom-apps', body, type)).status).toBe(400);
    expect(s.validationFailures).toHaveLength(4);
    expect(s.validationFailures[0]).toMatch(/colour is not a field Kandji documents/);
    expect(s.validationFailures[1]).toMatch(/must have required property 'file_key'/);
    expect(s.validationFailures[3]).toMatch(/must have required property 'audit_script'/);
    // A file key that names no upload is refused too.
    expect((await call(s, 'POST', '/api/v1/library/custom-apps', form({ name: 'x', file_key, install_type: 'package', install_enforcement: 'install_once' }), type)).status).toBe(400);
    expect(s.store.apps.size).toBe(0);
  });

  it('the bucket judges the presigned POST like S3', async () => {
    const s = await kandjiServer({ maxUploadBytes: 1000 });
    const file = Buffer.alloc(100, 7);
    const sl = await slot(s);
    expect(await s3Post(sl, file, (f) => ({ ...f, 'x-amz-signature': '0'.repeat(64) }))).toMatchObject({ status: 403, text: expect.stringContaining('<Code>SignatureDoesNotMatch</Code>') });
    expect(await s3Post(sl, file, (f) => ({ ...f, key: `${f.key}.other` }))).toMatchObject({ status: 403, text: expect.stringContaining('Policy Condition failed') });
    expect(await s3Post(sl, file, (f) => ({ ...f, acl: 'public-read' }))).toMatchObject({ status: 403, text: expect.stringContaining('Extra input fields: acl') });
    expect(await s3Post(sl, file, (f) => Object.fromEntries(Object.entries(f).filter(([k]) => k !== 'policy')))).toMatchObject({ status: 400, text: expect.stringContaining("must contain a field named 'policy'") });
    expect(await s3Post(sl, Buffer.alloc(1001))).toMatchObject({ status: 400, text: expect.stringContaining('<Code>EntityTooLarge</Code>') });
    expect(await s3Post(sl, file, (f) => f, { authorization: `Bearer ${s.token}` })).toMatchObject({ status: 400, text: expect.stringContaining('Unsupported Authorization Type') });
    expect(await s3Post(sl, file, (f) => f, {}, { success_action_status: '201' })).toMatchObject({ status: 400, text: expect.stringContaining('came after it') });
    expect(s.store.objects.size).toBe(0);
    s.expireNextSlot();
    expect(await s3Post(await slot(s), file)).toMatchObject({ status: 403, text: expect.stringContaining('Policy expired.') });
    const ok = await s3Post(sl, file);
    expect(ok.status).toBe(204);
    expect(s.store.objects.get(sl.file_key)).toMatchObject({ size: 100 });
  });

  it('a request without the token is 401; an unknown path is recorded', async () => {
    const s = await kandjiServer();
    expect((await fetch(`${s.url}/api/v1/library/custom-apps`)).status).toBe(401);
    expect((await fetch(`${s.url}/api/v1/library/custom-scripts`, { headers: { authorization: `Bearer ${s.token}` } })).status).toBe(404);
    expect(s.unknownRequests).toEqual(['GET /api/v1/library/custom-scripts']);
  });
});
