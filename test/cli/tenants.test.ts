/** `tenants --csv`: one folder per good row, every bad row reported by row and column, header checked up front. */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'plist';
import { describe, expect, it } from 'vitest';
import { parseTenantsCsv, tenantFolderName } from '../../src/profiles/tenants-plan.js';
import { spec } from '../profiles/helpers.js';
import { cli, tempDir } from './cli-helpers.js';

const K1 = 'rl_org_ALPHAsecret1';
const K2 = 'rl_org_BETAsecret2';
const E1 = 'rl_enroll_GAMMAsecret3';

function run(csv: string, extra: string[] = [], opts: { isTTY?: boolean } = {}) {
  const dir = tempDir('tenants');
  writeFileSync(path.join(dir, 't.csv'), csv);
  return cli(['tenants', '--csv', 't.csv', '--out', 'o', ...extra], { cwd: dir, ...opts }).then((r) => ({ ...r, dir }));
}

describe('aiwatch-deploy tenants', () => {
  it('writes one 0600 profile per tenant folder; BOM, CRLF, quoted cells and header aliases are fine', async () => {
    const csv = `\uFEFFName,Host,OrgApiKey,enrollment-key,Device Name,enforcement\r\nAcme Corp,https://acme.runlayer.com,${K1},${E1},"Mac, the first",false\r\n\r\nbeta,https://beta.runlayer.com,${K2},,,\r\n`;
    const r = await run(csv, ['--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ ok: true, failed: [] });
    expect(readdirSync(path.join(r.dir, 'o')).sort()).toEqual(['Acme-Corp', 'beta']);
    const f = path.join(r.dir, 'o/Acme-Corp/com.runlayer.aiwatch.tenant.mobileconfig');
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect((parse(readFileSync(f, 'utf8')) as { PayloadContent: Array<Record<string, unknown>> }).PayloadContent[0]).toMatchObject({
      Host: 'https://acme.runlayer.com', OrgApiKey: K1, EnrollmentKey: E1, DeviceName: 'Mac, the first', Enforcement: false, Sessions: true,
    });
    for (const s of [K1, K2, E1]) expect(r.stdout + r.stderr).not.toContain(s);
  });

  it('reports every bad row with its row number and column, writes the good rows, exits 2', async () => {
    const csv = [
      'name,host,org_api_key,username',
      `good,https://good.runlayer.com,${K1},jane`,
      `badhost,http://bad.runlayer.com,${K2},`,
      `badkey,https://x.runlayer.com,rl_org_has space,`,
      `,https://noname.runlayer.com,${K1},`,
      `short,https://short.runlayer.com`,
      `badbool,https://b.runlayer.com,${K1},"a\u0001b"`,
    ].join('\n');
    for (const json of [false, true]) {
      const r = await run(csv, json ? ['--json'] : []);
      expect(r.code).toBe(2);
      expect(existsSync(path.join(r.dir, 'o/good/com.runlayer.aiwatch.tenant.mobileconfig'))).toBe(true);
      expect(readdirSync(path.join(r.dir, 'o'))).toEqual(['good']);
      const report = json ? JSON.stringify((r.json().failed as Array<{ problems: string[] }>).flatMap((f) => f.problems)) : r.stderr;
      expect(report).toContain('t.csv row 3, column host: Host');
      expect(report).toContain('t.csv row 4, column org_api_key: OrgApiKey rl_org_********');
      expect(report).toContain('t.csv row 5, column name: is empty');
      expect(report).toContain('t.csv row 6: has 2 cells, the header has 4');
      expect(report).toContain('t.csv row 6, column org_api_key: OrgApiKey is required');
      expect(report).toContain('t.csv row 7, column username: Username');
      expect(r.stdout + r.stderr).not.toContain('has space');
      for (const s of [K1, K2]) expect(r.stdout + r.stderr).not.toContain(s);
      if (!json) expect(r.stdout).toContain('1 tenant(s) written to o, 5 row(s) failed');
    }
  });

  it('refuses duplicate names (case-insensitive, after sanitising) on every row involved', async () => {
    const r = await run(`name,host,org_api_key\nAcme,https://a.runlayer.com,${K1}\nacme,https://b.runlayer.com,${K2}\nA/C/M/E,https://c.runlayer.com,${K1}\nok,https://d.runlayer.com,${K1}\n`);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('t.csv row 2, column name: "Acme" gives the same folder as row 3');
    expect(r.stderr).toContain('t.csv row 3, column name: "acme" gives the same folder as row 2');
    expect(readdirSync(path.join(r.dir, 'o')).sort()).toEqual(['A-C-M-E', 'ok']);
  });

  it.each([
    ['an unknown column', `name,host,org_api_key,colour\n`, /column 4 "colour" is not a known column \(expected: name, host, org_api_key, enrollment_key/],
    ['a missing required column', `name,host\n`, /the header has no "org_api_key" column \(OrgApiKey is required\)/],
    ['no name column', `host,org_api_key\n`, /the header has no "name" column/],
    ['a duplicate column', `name,host,Host,org_api_key\n`, /columns 2 and 3 both give host/],
    ['an empty file', ``, /is empty; expected a header row/],
    ['an unclosed quote', `name,host,org_api_key\n"acme,https://a.runlayer.com,${K1}\n`, /not valid CSV at line \d+: a quoted cell is not closed/],
  ])('refuses %s up front (exit 2, nothing written)', async (_n, csv, why) => {
    const r = await run(csv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(why);
    expect(existsSync(path.join(r.dir, 'o'))).toBe(false);
    expect(r.stderr).not.toContain(K1);
  });

  it('several formats per tenant with --format', async () => {
    const r = await run(`name,host,org_api_key\nacme,https://a.runlayer.com,${K1}\n`, ['--format', 'mobileconfig', '--format', 'intune-plist', '--format', 'json']);
    expect(r.code).toBe(0);
    expect(readdirSync(path.join(r.dir, 'o/acme')).sort()).toEqual(['com.runlayer.aiwatch.intune.plist', 'com.runlayer.aiwatch.jamf.values.json', 'com.runlayer.aiwatch.tenant.mobileconfig']);
  });

  it('an interrupted run exits 130 and says how many tenants were written, never 0 with a partial count', async () => {
    const dir = tempDir('tenants');
    writeFileSync(path.join(dir, 't.csv'), `name,host,org_api_key\nacme,https://a.runlayer.com,${K1}\nbeta,https://b.runlayer.com,${K2}\n`);
    const stop = new AbortController();
    stop.abort();
    const r = await cli(['tenants', '--csv', 't.csv', '--out', 'o', '--json'], { cwd: dir, signal: stop.signal });
    expect(r.code).toBe(130);
    expect(r.json()).toMatchObject({ ok: false, error: { kind: 'interrupted' } });
    expect((r.json().error as { message: string }).message).toMatch(/interrupted after 0 of 2 tenant\(s\)/);
    expect(r.stdout + r.stderr).not.toContain(K1);
  });

  it('draws a progress bar on a TTY only, naming tenants but never keys', async () => {
    const csv = `name,host,org_api_key\nacme,https://a.runlayer.com,${K1}\nbeta,https://b.runlayer.com,${K2}\n`;
    const tty = await run(csv, [], { isTTY: true });
    expect(tty.code).toBe(0);
    // Rows are written in CSV order (io/batch.ts), so the bar ends on the last one.
    expect(tty.stderr).toMatch(/tenants \[.*\] 2\/2 beta/);
    expect(tty.stderr).not.toContain(K1);
    const pipe = await run(csv);
    expect(pipe.stderr).toBe('');
  });

  it('row numbers are file lines even after a multi-line cell', () => {
    const rows = parseTenantsCsv(spec, `name,host,org_api_key,username\na,https://a.runlayer.com,${K1},"two\nlines"\nb,http://b,${K1},\n`, 'x.csv');
    expect(rows.map((r) => r.row)).toEqual([2, 4]);
    expect(rows[0]!.problems[0]).toMatch(/^x\.csv row 2, column username: Username/);
    expect(rows[1]!.problems[0]).toMatch(/^x\.csv row 4, column host/);
  });

  it.each([
    ['Acme Corp', 'Acme-Corp'],
    ['../../etc', 'etc'],
    ['.hidden', 'hidden'],
    ['Müller & Söhne', 'Muller-Sohne'],
    ['日本', undefined],
    ['a'.repeat(80), 'a'.repeat(64)],
    ['x/..', 'x'],
  ])('folder name of %j is %j', (name, folder) => {
    expect(tenantFolderName(name)).toBe(folder);
  });
});
