import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadDefaultSpec } from '../src/config/spec.js';
import { KEY_TABLE_BEGIN, KEY_TABLE_END, renderKeyTable } from '../src/profiles/key-table.js';

describe('README', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  it('carries the tenant-key table generated from profiles/tenant-keys.json', () => {
    const start = readme.indexOf(KEY_TABLE_BEGIN);
    const end = readme.indexOf(KEY_TABLE_END);
    expect(start).toBeGreaterThanOrEqual(0);
    expect(readme.slice(start, end + KEY_TABLE_END.length)).toBe(renderKeyTable(loadDefaultSpec()));
  });
  it('shows the two set-up commands', () => {
    expect(readme).toContain('npm ci && npx aiwatch-deploy build --demo --out out/');
    expect(readme).toMatch(/^npm test/m);
  });
});
