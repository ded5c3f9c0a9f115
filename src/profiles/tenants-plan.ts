/**
 * The `tenants --csv` plan: a CSV of tenants → one validated TenantInput (and folder name) per row, with every bad
 * row reported by row number and column, so the good rows can still be written.
 *
 * CSV dialect (docs/decisions.md): comma-separated, RFC 4180 quoting, UTF-8 with or without a BOM, LF or CRLF line
 * ends; blank lines and rows of empty cells are skipped; cells are trimmed. The first row is the header: `name` plus
 * one column per tenant key, named after the key's flag with `_` (host, org_api_key, enrollment_key, username,
 * device_name, enforcement, sessions) and matched case-insensitively ignoring `_`, `-` and spaces (so `OrgApiKey`
 * and `Org API key` work too). Unknown, duplicate and missing required columns are refused before any row is read.
 * Row numbers are the file's line numbers (the header is row 1), as a spreadsheet shows them.
 */
import { parse } from 'csv-parse/sync';
import type { DeploymentSpec, TenantInput, TenantKeyDef } from '../config/spec-types.js';
import { parseTenantInput, type RawTenantValues } from '../config/tenant.js';
import { UsageError } from '../errors.js';
import { Secret } from '../secret.js';

export interface TenantRow {
  /** Line number of the row in the file (header = 1). */
  row: number;
  name: string;
  /** Folder name derived from `name` (undefined when it cannot be). */
  folder?: string;
  tenant?: TenantInput;
  /** Every problem of the row, each naming the row and column. Empty: the row is good. */
  problems: string[];
}

const NAME = 'name';
const norm = (h: string): string => h.trim().toLowerCase().replace(/[\s_-]+/g, '');

/** The CSV header name of a tenant key: its flag with `_`, e.g. `org_api_key`. */
export function csvColumnName(def: TenantKeyDef): string {
  return def.flag.replace(/-/g, '_');
}

/**
 * A tenant name as a folder name: accents dropped (`Müller` → `Muller`), ASCII letters, digits, `.`, `_`, `-` kept,
 * runs of anything else become `-`, no leading or trailing dots or dashes, at most 64 characters.
 */
export function tenantFolderName(name: string): string | undefined {
  const f = name.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 64).replace(/[-.]+$/, '');
  return f === '' ? undefined : f;
}

const CSV_ERRORS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted cell is not closed',
  CSV_INVALID_CLOSING_QUOTE: 'a closing quote is followed by other characters (write "" for a quote inside a quoted cell)',
  CSV_INVALID_OPENING_QUOTE: 'a quote appears inside an unquoted cell (quote the whole cell)',
};

function readCsv(text: string, file: string): Array<{ record: string[]; line: number }> {
  try {
    const rows = parse(text, { bom: true, info: true, relax_column_count: true, skip_empty_lines: true, skip_records_with_empty_values: true }) as unknown as Array<{
      record: string[];
      info: { lines: number };
    }>;
    return rows.map((r) => ({ record: r.record, line: r.info.lines - r.record.reduce((n, c) => n + (c.match(/\r\n|\r|\n/g)?.length ?? 0), 0) }));
  } catch (e) {
    const err = e as { code?: string; lines?: number };
    if (!err.code?.startsWith('CSV_')) throw e;
    throw new UsageError(`${file}: not valid CSV at line ${err.lines ?? '?'}: ${CSV_ERRORS[err.code] ?? err.code}`);
  }
}

interface Columns {
  name: number;
  keys: Map<TenantKeyDef, number>;
  header: string[];
}

function mapHeader(spec: DeploymentSpec, header: string[], file: string): Columns {
  const problems: string[] = [];
  const accepted = [NAME, ...spec.tenantKeys.map(csvColumnName)];
  const byNorm = new Map<string, TenantKeyDef | typeof NAME>([[NAME, NAME]]);
  for (const d of spec.tenantKeys) byNorm.set(norm(d.flag), d).set(norm(d.name), d);
  const seen = new Map<TenantKeyDef | typeof NAME, number>();
  header.forEach((h, i) => {
    const target = byNorm.get(norm(h));
    if (!target) problems.push(`${file}: column ${i + 1} ${JSON.stringify(h)} is not a known column (expected: ${accepted.join(', ')})`);
    else if (seen.has(target)) problems.push(`${file}: columns ${seen.get(target)! + 1} and ${i + 1} both give ${target === NAME ? NAME : csvColumnName(target)}`);
    else seen.set(target, i);
  });
  if (!seen.has(NAME)) problems.push(`${file}: the header has no "name" column (one name per tenant, used as its folder name)`);
  for (const d of spec.tenantKeys) if (d.required && !seen.has(d)) problems.push(`${file}: the header has no "${csvColumnName(d)}" column (${d.name} is required)`);
  if (problems.length > 0) throw new UsageError(problems);
  const keys = new Map<TenantKeyDef, number>();
  for (const [t, i] of seen) if (t !== NAME) keys.set(t, i);
  return { name: seen.get(NAME)!, keys, header };
}

function readRow(spec: DeploymentSpec, cols: Columns, record: string[], line: number, file: string): TenantRow {
  const at = `${file} row ${line}`;
  const name = (record[cols.name] ?? '').trim();
  const row: TenantRow = { row: line, name, problems: [] };
  if (record.length !== cols.header.length) row.problems.push(`${at}: has ${record.length} cells, the header has ${cols.header.length}`);
  row.folder = tenantFolderName(name);
  if (name === '') row.problems.push(`${at}, column name: is empty`);
  else if (!row.folder) row.problems.push(`${at}, column name: ${JSON.stringify(name)} leaves no usable folder name (use letters or digits)`);
  const raw: Record<string, string | Secret> = {};
  for (const [def, i] of cols.keys) {
    const cell = (record[i] ?? '').trim();
    if (cell !== '') raw[def.name] = def.secret ? new Secret(cell, def.name) : cell;
  }
  try {
    row.tenant = parseTenantInput(spec, raw as RawTenantValues, at);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    for (const p of e.problems) {
      const def = [...cols.keys.keys()].find((d) => p.startsWith(`${at}: ${d.name} `));
      row.problems.push(def ? `${at}, column ${cols.header[cols.keys.get(def)!]}: ${p.slice(at.length + 2)}` : p);
    }
  }
  if (row.problems.length > 0) row.tenant = undefined;
  return row;
}

/** Mark rows whose folder names collide (case-insensitively: macOS volumes usually are). */
function markDuplicates(rows: TenantRow[], file: string): void {
  const groups = new Map<string, TenantRow[]>();
  for (const r of rows) if (r.folder) groups.set(r.folder.toLowerCase(), [...(groups.get(r.folder.toLowerCase()) ?? []), r]);
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    for (const r of group) {
      const others = group.filter((o) => o !== r).map((o) => o.row).join(', ');
      r.problems.push(`${file} row ${r.row}, column name: ${JSON.stringify(r.name)} gives the same folder as row ${others}; tenant names must be unique (compared case-insensitively)`);
      r.tenant = undefined;
    }
  }
}

/** Parse a tenants CSV. Throws UsageError for a bad header or unreadable CSV; row problems are in the rows. */
export function parseTenantsCsv(spec: DeploymentSpec, text: string, file: string): TenantRow[] {
  const records = readCsv(text, file);
  if (records.length === 0) throw new UsageError(`${file}: is empty; expected a header row (name, ${spec.tenantKeys.map(csvColumnName).join(', ')}) and one row per tenant`);
  const cols = mapHeader(spec, records[0]!.record, file);
  const rows = records.slice(1).map((r) => readRow(spec, cols, r.record, r.line, file));
  markDuplicates(rows, file);
  return rows;
}
