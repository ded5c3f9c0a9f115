/**
 * The local Fleet server's state and routes: configuration profiles and software packages per team, as Fleet's REST
 * API describes them (test/fixtures/vendor-api/fleet/fleet.json). Every form and query is validated first
 * (schemas.ts); a failure is recorded in `validationFailures` and answered 400 with Fleet's error shape. See
 * README.md for what is modelled and what is not.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parsePlist } from 'plist';
import { boundaryOf, readForm, type FormPart } from './multipart.js';
import { formObject, validateForm, validateQuery, type FormName, type QueryName } from './schemas.js';

export interface StoredProfile {
  uuid: string;
  teamId: number;
  name: string;
  identifier: string;
  bytes: Buffer;
  labels: string[];
  createdAt: string;
}

export interface StoredPackage {
  installerId: number;
  fileName: string;
  version: string;
  size: number;
  sha256: string;
  installScript: string;
  selfService: boolean;
  labels: string[];
  /** Fleet's "[Install software]" policy, made when the package is added with automatic_install. */
  policy?: { id: number; name: string };
  uploadedAt: string;
}

export interface StoredTitle {
  id: number;
  name: string;
  /** One installer per team. */
  packages: Map<number, StoredPackage>;
}

export class FleetStore {
  readonly profiles = new Map<string, StoredProfile>();
  readonly titles = new Map<number, StoredTitle>();
  readonly teams = new Set<number>([1, 3]);
  readonly labels = new Set<string>(['All Hosts', 'macOS', 'AI Watch pilots']);
  /** The pkg bytes' sha256 of every upload received, in order. */
  readonly uploads: { fileName: string; size: number; sha256: string }[] = [];
  #seq = 100;

  next(): number {
    return ++this.#seq;
  }
}

export interface FleetContext {
  store: FleetStore;
  req: IncomingMessage;
  res: ServerResponse;
  params: string[];
  query: URLSearchParams;
  /** The request body, streamed (fault injection may cut it). */
  stream: () => AsyncIterable<Buffer>;
  validationFailures: string[];
  now: () => string;
}

export interface Route {
  method: string;
  pattern: RegExp;
  object: string;
  handle: (ctx: FleetContext) => Promise<void> | void;
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const text = value === undefined ? '' : JSON.stringify(value);
  res.writeHead(status, { ...(text ? { 'content-type': 'application/json' } : {}), 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** Fleet's error body: {message, errors:[{name, reason}], uuid}. */
export function fleetError(res: ServerResponse, status: number, message: string, reason: string, name = 'base', headers: Record<string, string> = {}): void {
  sendJson(res, status, { message, errors: [{ name, reason }], uuid: '00000000-0000-4000-8000-000000000000' }, headers);
}

function checkQuery(ctx: FleetContext, name: QueryName): boolean {
  const problems = validateQuery(name, ctx.query);
  if (problems.length === 0) return true;
  ctx.validationFailures.push(...problems);
  fleetError(ctx.res, 400, 'Bad request', problems.join('; '));
  return false;
}

/** The team of a query or form: team_id or fleet_id (the newest server maps the former to the latter). */
function teamOf(get: (k: string) => string | undefined): number | undefined {
  const v = get('fleet_id') ?? get('team_id');
  return v === undefined ? undefined : Number(v);
}

async function readValidForm(ctx: FleetContext, name: FormName, keep: (n: string) => boolean): Promise<{ form: Record<string, unknown>; parts: FormPart[] } | undefined> {
  const boundary = boundaryOf(ctx.req.headers['content-type']);
  if (!boundary) {
    ctx.validationFailures.push(`${name}: content-type is not multipart/form-data with a boundary: ${ctx.req.headers['content-type'] ?? '(none)'}`);
    fleetError(ctx.res, 400, 'Bad request', 'expected a multipart/form-data body');
    return undefined;
  }
  let parts: FormPart[];
  try {
    parts = await readForm(ctx.stream(), boundary, keep, 2 * 1024 * 1024);
  } catch (e) {
    if (ctx.req.socket?.destroyed ?? true) throw e;
    ctx.validationFailures.push(`${name}: malformed multipart body: ${(e as Error).message}`);
    fleetError(ctx.res, 400, 'Bad request', (e as Error).message);
    return undefined;
  }
  const form = formObject(parts);
  const problems = validateForm(name, form);
  if (problems.length > 0) {
    ctx.validationFailures.push(...problems);
    fleetError(ctx.res, 400, 'Bad request', problems.join('; '));
    return undefined;
  }
  return { form, parts };
}

function unknownTeamOrLabel(ctx: FleetContext, team: number | undefined, labels: string[]): boolean {
  if (team !== undefined && !ctx.store.teams.has(team)) {
    fleetError(ctx.res, 404, 'Resource Not Found', `team ${team} was not found in the datastore`);
    return true;
  }
  const missing = labels.filter((l) => !ctx.store.labels.has(l));
  if (missing.length > 0) {
    fleetError(ctx.res, 400, 'Bad request', `some or all the labels provided don't exist: ${missing.join(', ')}`, 'labels');
    return true;
  }
  return false;
}

/** A title's name and version from the pkg's file name (real Fleet reads the pkg's own metadata; README.md). */
function titleOf(fileName: string): { name: string; version: string } {
  const m = /^(.+?)-([0-9][0-9A-Za-z.+_]*)(?:-[^-]*)*\.pkg$/.exec(fileName);
  return m ? { name: m[1]!, version: m[2]! } : { name: fileName.replace(/\.pkg$/, ''), version: '' };
}

const labelsOut = (names: string[]): { name: string; id: number }[] => names.map((name, i) => ({ name, id: i + 1 }));

function profileRoutes(): Route[] {
  return [
    {
      method: 'GET',
      pattern: /^\/api\/v1\/fleet\/configuration_profiles$/,
      object: 'profile',
      handle: (ctx) => {
        if (!checkQuery(ctx, 'configurationProfilesList')) return;
        const team = teamOf((k) => ctx.query.get(k) ?? undefined) ?? 0;
        const page = Number(ctx.query.get('page') ?? 0);
        const per = Number(ctx.query.get('per_page') ?? 20) || 20;
        const all = [...ctx.store.profiles.values()].filter((p) => p.teamId === team).sort((a, b) => a.name.localeCompare(b.name));
        const slice = all.slice(page * per, page * per + per);
        sendJson(ctx.res, 200, {
          profiles: slice.map((p) => ({
            profile_uuid: p.uuid,
            team_id: p.teamId,
            name: p.name,
            platform: 'darwin',
            identifier: p.identifier,
            created_at: p.createdAt,
            updated_at: p.createdAt,
            checksum: Buffer.from(p.bytes.subarray(0, 16)).toString('base64'),
            ...(p.labels.length ? { labels_include_any: labelsOut(p.labels) } : {}),
          })),
          meta: { has_next_results: (page + 1) * per < all.length, has_previous_results: page > 0 },
        });
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/fleet\/configuration_profiles\/([^/]+)$/,
      object: 'profile',
      handle: (ctx) => {
        if (!checkQuery(ctx, 'configurationProfileGet')) return;
        const p = ctx.store.profiles.get(ctx.params[0]!);
        if (!p) return fleetError(ctx.res, 404, 'Resource Not Found', 'profile was not found in the datastore');
        if (ctx.query.get('alt') !== 'media') return sendJson(ctx.res, 200, { profile_uuid: p.uuid, team_id: p.teamId, name: p.name, identifier: p.identifier, platform: 'darwin' });
        ctx.res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': `attachment;filename="2026-12-06 ${p.name}.mobileconfig"`, 'content-length': String(p.bytes.length) });
        ctx.res.end(p.bytes);
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/api\/v1\/fleet\/configuration_profiles\/([^/]+)$/,
      object: 'profile',
      handle: (ctx) => {
        if (!checkQuery(ctx, 'none')) return;
        if (!ctx.store.profiles.delete(ctx.params[0]!)) return fleetError(ctx.res, 404, 'Resource Not Found', 'profile was not found in the datastore');
        sendJson(ctx.res, 200, {});
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/v1\/fleet\/configuration_profiles$/,
      object: 'profile',
      handle: async (ctx) => {
        if (!checkQuery(ctx, 'none')) return;
        const read = await readValidForm(ctx, 'configurationProfileAdd', () => true);
        if (!read) return;
        const team = teamOf((k) => read.form[k] as string | undefined) ?? 0;
        const labels = (read.form.labels_include_any as string[] | undefined) ?? [];
        if (unknownTeamOrLabel(ctx, team || undefined, labels)) return;
        const bytes = read.parts.find((p) => p.name === 'profile')!.bytes!;
        let top: Record<string, unknown>;
        try {
          top = parsePlist(bytes.toString('utf8')) as Record<string, unknown>;
        } catch (e) {
          return fleetError(ctx.res, 400, 'Validation Failed', `failed to parse the mobileconfig: ${(e as Error).message}`, 'profile');
        }
        const identifier = top?.PayloadIdentifier;
        const name = top?.PayloadDisplayName;
        if (typeof identifier !== 'string' || typeof name !== 'string') return fleetError(ctx.res, 400, 'Validation Failed', 'The file should include a PayloadIdentifier and PayloadDisplayName', 'profile');
        const same = [...ctx.store.profiles.values()].filter((p) => p.teamId === team);
        if (same.some((p) => p.identifier === identifier || p.name === name)) {
          return fleetError(ctx.res, 409, 'Conflict', `Couldn't add. A configuration profile with this name or identifier (PayloadDisplayName / PayloadIdentifier) already exists`, 'PayloadIdentifier');
        }
        const uuid = `a${ctx.store.next().toString(16).padStart(7, '0')}-0000-4000-8000-000000000000`;
        ctx.store.profiles.set(uuid, { uuid, teamId: team, name, identifier, bytes, labels, createdAt: ctx.now() });
        sendJson(ctx.res, 200, { profile_uuid: uuid });
      },
    },
  ];
}

function packageOut(t: StoredTitle, team: number): Record<string, unknown> | null {
  const p = t.packages.get(team);
  if (!p) return null;
  return {
    name: p.fileName,
    version: p.version,
    installer_id: p.installerId,
    team_id: team,
    uploaded_at: p.uploadedAt,
    install_script: p.installScript,
    pre_install_query: '',
    post_install_script: '',
    uninstall_script: '',
    self_service: p.selfService,
    ...(p.labels.length ? { labels_include_any: labelsOut(p.labels) } : {}),
    automatic_install_policies: p.policy ? [p.policy] : [],
    status: { installed: 0, pending_install: 0, failed_install: 0, pending_uninstall: 0, failed_uninstall: 0 },
  };
}

function softwareRoutes(): Route[] {
  const store = (ctx: FleetContext, t: StoredTitle, team: number, form: Record<string, unknown>, file: FormPart | undefined): void => {
    const old = t.packages.get(team);
    const fileName = file?.filename ?? old!.fileName;
    const labels = (form.labels_include_any as string[] | undefined) ?? old?.labels ?? [];
    if (file) ctx.store.uploads.push({ fileName, size: file.size, sha256: file.sha256 });
    t.packages.set(team, {
      installerId: old?.installerId ?? ctx.store.next(),
      fileName,
      version: file ? titleOf(fileName).version : old!.version,
      size: file?.size ?? old!.size,
      sha256: file?.sha256 ?? old!.sha256,
      installScript: typeof form.install_script === 'string' ? form.install_script : (old?.installScript ?? '/usr/sbin/installer -pkg "$INSTALLER_PATH" -target /'),
      selfService: typeof form.self_service === 'string' ? /^(true|1|t)$/i.test(form.self_service) : (old?.selfService ?? false),
      labels,
      policy: old?.policy ?? (form.automatic_install === 'true' ? { id: ctx.store.next(), name: `[Install software] ${t.name}` } : undefined),
      uploadedAt: file ? ctx.now() : (old?.uploadedAt ?? ctx.now()),
    });
  };
  return [
    {
      method: 'POST',
      pattern: /^\/api\/v1\/fleet\/software\/package$/,
      object: 'package',
      handle: async (ctx) => {
        if (!checkQuery(ctx, 'none')) return;
        const read = await readValidForm(ctx, 'softwarePackageAdd', (n) => n !== 'software');
        if (!read) return;
        const team = teamOf((k) => read.form[k] as string | undefined) ?? 0;
        if (unknownTeamOrLabel(ctx, team || undefined, (read.form.labels_include_any as string[] | undefined) ?? [])) return;
        const file = read.parts.find((p) => p.name === 'software')!;
        if (!/\.pkg$/i.test(file.filename ?? '')) return fleetError(ctx.res, 400, 'Validation Failed', `Couldn't add. File type not supported. The file should be .pkg, .msi, .exe, .deb or .rpm.`, 'software');
        const { name } = titleOf(file.filename!);
        let t = [...ctx.store.titles.values()].find((x) => x.name === name);
        if (t?.packages.has(team)) return fleetError(ctx.res, 409, 'Conflict', `Couldn't add. ${name} already has an installer available for this team.`);
        if (!t) {
          t = { id: ctx.store.next(), name, packages: new Map() };
          ctx.store.titles.set(t.id, t);
        }
        store(ctx, t, team, read.form, file);
        sendJson(ctx.res, 200, { software_package: packageOut(t, team) });
      },
    },
    {
      method: 'PATCH',
      pattern: /^\/api\/v1\/fleet\/software\/titles\/([0-9]+)\/package$/,
      object: 'package',
      handle: async (ctx) => {
        if (!checkQuery(ctx, 'none')) return;
        const read = await readValidForm(ctx, 'softwarePackageModify', (n) => n !== 'software');
        if (!read) return;
        const team = teamOf((k) => read.form[k] as string | undefined)!;
        if (unknownTeamOrLabel(ctx, team, (read.form.labels_include_any as string[] | undefined) ?? [])) return;
        const t = ctx.store.titles.get(Number(ctx.params[0]));
        if (!t?.packages.has(team)) return fleetError(ctx.res, 404, 'Resource Not Found', 'SoftwareInstaller was not found in the datastore');
        const file = read.parts.find((p) => p.name === 'software');
        if (file && titleOf(file.filename ?? '').name !== t.name) return fleetError(ctx.res, 400, 'Validation Failed', `The selected package is for a different software title.`, 'software');
        store(ctx, t, team, read.form, file);
        sendJson(ctx.res, 200, { software_package: packageOut(t, team) });
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/fleet\/software\/titles$/,
      object: 'package',
      handle: (ctx) => {
        if (!checkQuery(ctx, 'softwareTitlesList')) return;
        const team = teamOf((k) => ctx.query.get(k) ?? undefined) ?? 0;
        const page = Number(ctx.query.get('page') ?? 0);
        const per = Number(ctx.query.get('per_page') ?? 20) || 20;
        const onlyPkgs = /^(true|1)$/i.test(ctx.query.get('packages_only') ?? '');
        const all = [...ctx.store.titles.values()].filter((t) => !onlyPkgs || t.packages.has(team)).sort((a, b) => a.id - b.id);
        sendJson(ctx.res, 200, {
          counts_updated_at: null,
          count: all.length,
          software_titles: all.slice(page * per, page * per + per).map((t) => {
            const p = t.packages.get(team);
            return { id: t.id, name: t.name, software_package: p ? { name: p.fileName, version: p.version, self_service: p.selfService } : null, app_store_app: null, versions_count: 0, source: 'pkg_packages', hosts_count: 0 };
          }),
        });
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/fleet\/software\/titles\/([0-9]+)$/,
      object: 'package',
      handle: (ctx) => {
        if (!checkQuery(ctx, 'softwareTitleGet')) return;
        const team = teamOf((k) => ctx.query.get(k) ?? undefined) ?? 0;
        const t = ctx.store.titles.get(Number(ctx.params[0]));
        if (!t) return fleetError(ctx.res, 404, 'Resource Not Found', 'SoftwareTitle was not found in the datastore');
        sendJson(ctx.res, 200, { software_title: { id: t.id, name: t.name, bundle_identifier: null, software_package: packageOut(t, team), app_store_app: null, source: 'pkg_packages' } });
      },
    },
  ];
}

export const ROUTES: Route[] = [...profileRoutes(), ...softwareRoutes()];
