// ESLint flat config: typescript-eslint's recommended rules over src/, test/ and scripts/, and the boundaries of
// src/ (docs/architecture.md), one config block per folder:
//   - node:fs write APIs only in src/io (reading is allowed everywhere);
//   - execa and node:child_process only in src/tools; handlebars only in src/render;
//   - no import of a folder of a higher layer (scripts/layers.json), and verify/ and inspect/ never import each other.
// test/architecture/import-graph.test.ts checks the same layers on the whole graph, and that there is no import loop.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layers from './scripts/layers.json' with { type: 'json' };

/** node:fs functions that change the file system (their Sync forms are added below). */
const FS_WRITES = [
  'appendFile', 'chmod', 'chown', 'copyFile', 'cp', 'createWriteStream', 'fchmod', 'fchown', 'ftruncate', 'futimes', 'lchmod', 'lchown',
  'link', 'lutimes', 'mkdir', 'mkdtemp', 'rename', 'rm', 'rmdir', 'symlink', 'truncate', 'unlink', 'utimes', 'writeFile', 'write', 'writev',
];
const FS_WRITE_NAMES = [...FS_WRITES, ...FS_WRITES.filter((n) => n !== 'createWriteStream').map((n) => `${n}Sync`)];
const FS_MESSAGE = 'only src/io writes files (src/io/fs.ts); read with node:fs here, write through io';

const fsPaths = ['node:fs', 'fs', 'node:fs/promises', 'fs/promises'].map((name) => ({ name, importNames: FS_WRITE_NAMES, message: FS_MESSAGE }));
const spawnPaths = ['execa', 'node:child_process', 'child_process'].map((name) => ({ name, message: 'only src/tools spawns programs (src/tools/run.ts)' }));
const handlebarsPaths = [{ name: 'handlebars', message: 'only src/render uses handlebars (src/render/templates.ts)' }];

/** `fsp.writeFile(…)` through `import { promises as fsp }` is a write too. */
const fsMemberWrite = {
  selector: `MemberExpression[object.name=/^(fs|fsp|fsPromises|promises)$/][property.name=/^(${FS_WRITE_NAMES.join('|')})$/]`,
  message: FS_MESSAGE,
};

const folders = layers.layers.flatMap((layer, level) => layer.folders.map((folder) => ({ folder, level })));

/** The folders `folder` must not import: every folder of a higher layer, and its `apart` partners. */
function forbiddenFor(folder, level) {
  const higher = folders.filter((f) => f.level > level).map((f) => f.folder);
  const apart = layers.apart.filter((pair) => pair.includes(folder)).flat().filter((f) => f !== folder);
  return [...higher, ...apart];
}

/** The no-restricted-imports and no-restricted-syntax rules of one folder of src/. */
function boundaryRules(folder, level) {
  const paths = [...(folder === 'io' ? [] : fsPaths), ...(folder === 'tools' ? [] : spawnPaths), ...(folder === 'render' ? [] : handlebarsPaths)];
  const up = folder === '.' ? './' : '../';
  const patterns = forbiddenFor(folder, level).map((f) => ({
    group: [`${up}${f}/*`, `${up}${f}/**`, ...(folder === '.' ? [] : [`../../${f}/*`, `../../${f}/**`])],
    message: `src/${folder === '.' ? '' : `${folder}/`} must not import src/${f}/ (a higher layer or a folder kept apart: scripts/layers.json, docs/architecture.md)`,
  }));
  return {
    'no-restricted-imports': ['error', { paths, patterns }],
    'no-restricted-syntax': folder === 'io' ? 'off' : ['error', fsMemberWrite],
  };
}

const boundaries = folders.map(({ folder, level }) => ({
  files: folder === '.' ? ['src/*.ts'] : [`src/${folder}/**/*.ts`],
  rules: boundaryRules(folder, level),
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'out/**', 'coverage/**', 'test/fixtures/**', 'test/golden/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-control-regex': 'off',
    },
  },
  ...boundaries,
);
