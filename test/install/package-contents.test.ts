/**
 * What package.json promises an installer, checked without installing: every runtime dependency is used by src/
 * (a declared but never imported package is weight and attack surface for every user), and every folder the code
 * reads at run time is in "files". The real install is test/install/pack-install.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; files: string[] };

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => readFileSync(path.join(e.parentPath, e.name), 'utf8'));
}
const src = sources(path.join(ROOT, 'src')).join('\n');

describe('package.json', () => {
  it.each(Object.keys(pkg.dependencies))('the runtime dependency %s is imported by src/', (dep) => {
    // An import specifier: the package itself or a file inside it, in either quote style.
    const used = [`'${dep}'`, `"${dep}"`, `'${dep}/`, `"${dep}/`].some((s) => src.includes(s));
    expect(used, `${dep} is declared in dependencies but src/ never imports it`).toBe(true);
  });

  it('"files" holds every folder src/ reads beside dist/ at run time, and nothing of the development tree', () => {
    // The places src/ names relative to the package root: PACKAGE_ROOT + 'x', or '../../x' from a dist/ module.
    const named = new Set([...src.matchAll(/PACKAGE_ROOT, '([^'/]+)'/g), ...src.matchAll(/import\.meta\.url\)\), '\.\.\/\.\.\/([^'/]+)'\)/g)].map((m) => m[1]!));
    expect([...named].sort()).toEqual(expect.arrayContaining(['certs', 'data', 'fixtures', 'launchd', 'package.json', 'profiles', 'schemas', 'templates']));
    named.delete('package.json'); // always packed
    for (const dir of [...named, 'bin', 'dist']) expect(pkg.files, `${dir} is read at run time`).toContain(dir);
    for (const dev of ['src', 'test', 'scripts', 'docs', 'node_modules', '.ci']) expect(pkg.files).not.toContain(dev);
  });
});
