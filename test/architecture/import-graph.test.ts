/**
 * The architecture of src/ (docs/architecture.md): no import loop of any length (type-only imports included), no
 * import of a higher layer (scripts/layers.json) and none between verify/ and inspect/; the ESLint zones of
 * eslint.config.js refuse a file write outside src/io, a spawn outside src/tools, handlebars outside src/render and
 * an upward import. The graph comes from scripts/import-graph.ts (the TypeScript parser); the detectors are also run
 * on planted graphs, so a detector that finds nothing cannot pass these tests by accident.
 */
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { APART, folderOf, importEdges, importLoops, LAYERS, layerOf, listSources, upwardImports, type ImportEdge } from '../../scripts/import-graph.js';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const edge = (from: string, to: string, typeOnly = false): ImportEdge => ({ from, to, typeOnly, line: 1 });
const text = (e: ImportEdge): string => `${e.from}:${e.line} → ${e.to}`;

describe('the import graph of src/', () => {
  const edges = importEdges();

  it('is read: every file of src/ is in a folder with a layer, and the imports between them are found', () => {
    const files = listSources().map((f) => path.relative(path.join(repoRoot, 'src'), f));
    expect(files.length).toBeGreaterThan(100);
    for (const f of files) expect(LAYERS[layerOf(folderOf(f))], f).toBeDefined();
    expect(edges.length).toBeGreaterThan(files.length);
    expect(edges).toContainEqual(expect.objectContaining({ from: 'cli/main.ts', to: 'errors.ts' }));
  });

  it('has no import loop', () => {
    expect(importLoops(edges).map((group) => group.join(' ↔ '))).toEqual([]);
  });

  it('has no upward import, and verify/ and inspect/ do not import each other', () => {
    expect(upwardImports(edges).map(text)).toEqual([]);
    expect(APART).toContainEqual(['verify', 'inspect']);
  });
});

describe('the detectors, on planted graphs', () => {
  it('find a loop of two files, a longer one, a type-only one and a file importing itself', () => {
    const loops = importLoops([
      edge('macho/a.ts', 'macho/b.ts'),
      edge('macho/b.ts', 'macho/a.ts', true),
      edge('pkg/x.ts', 'pkg/y.ts'),
      edge('pkg/y.ts', 'pkg/z.ts'),
      edge('pkg/z.ts', 'pkg/x.ts'),
      edge('pkg/z.ts', 'formats/zip.ts'),
      edge('io/fs.ts', 'io/fs.ts'),
    ]);
    expect(loops).toEqual([['io/fs.ts'], ['macho/a.ts', 'macho/b.ts'], ['pkg/x.ts', 'pkg/y.ts', 'pkg/z.ts']]);
  });

  it('find an import of a higher layer and one between verify and inspect, and allow the way down', () => {
    const up = upwardImports([
      edge('formats/zip.ts', 'pkg/xar.ts'),
      edge('pkg/flat-package.ts', 'config/spec-types.ts', true),
      edge('verify/zip.ts', 'inspect/zip.ts'),
      edge('inspect/zip.ts', 'verify/zip.ts'),
      edge('cli/main.ts', 'verify/all.ts'),
      edge('pkg/xar.ts', 'formats/xml-tree.ts'),
      edge('sign/identity.ts', 'sign/identity-sources.ts'),
    ]);
    expect(up.map(text)).toEqual([
      'formats/zip.ts:1 → pkg/xar.ts',
      'pkg/flat-package.ts:1 → config/spec-types.ts',
      'verify/zip.ts:1 → inspect/zip.ts',
      'inspect/zip.ts:1 → verify/zip.ts',
    ]);
  });

  it('refuse a folder that has no layer', () => {
    expect(() => layerOf('plan')).toThrow(/src\/plan\/ has no layer/);
  });
});

describe('the ESLint zones (eslint.config.js)', () => {
  const eslint = new ESLint({ cwd: repoRoot });
  const messages = async (file: string, code: string): Promise<string[]> => {
    const [result] = await eslint.lintText(code, { filePath: path.join(repoRoot, file) });
    return result!.messages.filter((m) => m.ruleId?.startsWith('no-restricted')).map((m) => m.message);
  };

  it('refuse node:fs writes outside src/io, and allow reading', async () => {
    expect(await messages('src/verify/planted.ts', "import { writeFile, readFile } from 'node:fs/promises';\nexport const f = [writeFile, readFile];\n")).toEqual([
      expect.stringMatching(/'writeFile' import from 'node:fs\/promises' is restricted\. only src\/io writes files/),
    ]);
    expect(await messages('src/pkg/planted.ts', "import { promises as fsp } from 'node:fs';\nexport const f = () => fsp.rename('a', 'b');\n")).toEqual([expect.stringMatching(/only src\/io writes files/)]);
    expect(await messages('src/pkg/planted.ts', "import { createReadStream, readFileSync } from 'node:fs';\nexport const f = [createReadStream, readFileSync];\n")).toEqual([]);
    expect(await messages('src/io/planted.ts', "import { writeFile } from 'node:fs/promises';\nexport const f = writeFile;\n")).toEqual([]);
  });

  it('refuse execa and node:child_process outside src/tools, handlebars outside src/render', async () => {
    expect(await messages('src/sign/planted.ts', "import { execa } from 'execa';\nexport const f = execa;\n")).toEqual([expect.stringMatching(/only src\/tools spawns programs/)]);
    expect(await messages('src/notary/planted.ts', "import { spawn } from 'node:child_process';\nexport const f = spawn;\n")).toEqual([expect.stringMatching(/only src\/tools spawns programs/)]);
    expect(await messages('src/tools/planted.ts', "import { execa } from 'execa';\nexport const f = execa;\n")).toEqual([]);
    expect(await messages('src/intune/planted.ts', "import Handlebars from 'handlebars';\nexport const f = Handlebars;\n")).toEqual([expect.stringMatching(/only src\/render uses handlebars/)]);
    expect(await messages('src/render/planted.ts', "import Handlebars from 'handlebars';\nexport const f = Handlebars;\n")).toEqual([]);
  });

  it('refuse an upward import and one between verify and inspect', async () => {
    expect(await messages('src/formats/planted.ts', "import type { DeploymentSpec } from '../config/spec-types.js';\nexport type S = DeploymentSpec;\n")).toEqual([
      expect.stringMatching(/src\/formats\/ must not import src\/config\//),
    ]);
    expect(await messages('src/macho/planted.ts', "import { main } from '../cli/main.js';\nexport const f = main;\n")).toEqual([expect.stringMatching(/src\/macho\/ must not import src\/cli\//)]);
    expect(await messages('src/verify/planted.ts', "import { inspectFile } from '../inspect/index.js';\nexport const f = inspectFile;\n")).toEqual([
      expect.stringMatching(/src\/verify\/ must not import src\/inspect\//),
    ]);
    expect(await messages('src/errors-planted.ts', "import { main } from './cli/main.js';\nexport const f = main;\n")).toEqual([expect.stringMatching(/src\/ must not import src\/cli\//)]);
    expect(await messages('src/cli/planted.ts', "import { inspectFile } from '../inspect/index.js';\nexport const f = inspectFile;\n")).toEqual([]);
  });
});
