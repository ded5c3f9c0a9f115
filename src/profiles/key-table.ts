/**
 * The README's tenant-key table, derived from the one key definition (profiles/tenant-keys.json) like the CLI flags
 * and the Jamf schema. A test keeps README.md's table (between the `tenant-keys` markers) equal to this output.
 */
import { envNameForFlag } from '../config/secrets.js';
import type { DeploymentSpec } from '../config/spec-types.js';

export const KEY_TABLE_BEGIN = '<!-- tenant-keys:begin (generated from profiles/tenant-keys.json; test/readme.test.ts checks it) -->';
export const KEY_TABLE_END = '<!-- tenant-keys:end -->';

function flagsOf(d: DeploymentSpec['tenantKeys'][number]): string {
  if (d.type === 'boolean') return `\`--no-${d.flag}\``;
  if (d.secret) return `\`--${d.flag}-file F\`, \`--${d.flag}-stdin\`, env \`${envNameForFlag(d.flag)}\``;
  return `\`--${d.flag} V\``;
}

export function renderKeyTable(spec: DeploymentSpec): string {
  const rows = spec.tenantKeys.map((d) => {
    const dflt = d.default === undefined ? '' : `\`${String(d.default)}\``;
    const form = d.pattern ? `\`${d.pattern}\`` : d.maxLength ? `≤ ${d.maxLength} chars, no control characters` : '';
    return `| \`${d.name}\` | ${d.type} | ${d.required ? 'yes' : 'no'} | ${dflt} | ${d.secret ? 'yes' : 'no'} | ${flagsOf(d)} | ${form} | ${d.description} |`;
  });
  return [
    KEY_TABLE_BEGIN,
    '| key | type | required | default | secret | CLI | form | meaning |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    KEY_TABLE_END,
  ].join('\n');
}
