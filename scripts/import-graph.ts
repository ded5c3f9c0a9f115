/**
 * The import graph of src/: which file imports which (static imports, `export … from`, dynamic `import()` and
 * `import('…')` types, all read with the TypeScript compiler's parser), the layer each folder sits in, and the three
 * measures the architecture test and docs/architecture.md rely on: import loops (strongly connected groups of files,
 * any length, type-only imports included — a type loop is still two files that cannot be understood apart), upward
 * imports (a file importing a folder of a higher layer), and the longest functions.
 *
 * Run: `node scripts/import-graph.ts` (summary) or `node scripts/import-graph.ts --json`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import layers from './layers.json' with { type: 'json' };

/**
 * The layers, lowest first (scripts/layers.json, shared with eslint.config.js). A file may import its own folder, a
 * folder of the same layer, or any lower layer; never a higher one. `.` is src/errors.ts and src/secret.ts.
 */
export const LAYERS: readonly (readonly string[])[] = layers.layers.map((layer) => layer.folders);
/** Folder pairs of one layer that must not import each other either way (verify and inspect). */
export const APART: readonly (readonly string[])[] = layers.apart;

export interface ImportEdge {
  from: string; // src-relative path of the importing file, e.g. 'pkg/xar.ts'
  to: string; // src-relative path of the imported file
  typeOnly: boolean;
  line: number;
}

export interface FunctionSize {
  file: string;
  name: string;
  line: number;
  lines: number;
}

const here = dirname(fileURLToPath(import.meta.url));
export const SRC = resolve(here, '..', 'src');

export function listSources(dir = SRC): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSources(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out.sort();
}

export function folderOf(file: string): string {
  const slash = file.indexOf('/');
  return slash < 0 ? '.' : file.slice(0, slash);
}

export function layerOf(folder: string): number {
  const index = LAYERS.findIndex((layer) => layer.includes(folder));
  if (index < 0) throw new Error(`import-graph: src/${folder}/ has no layer in LAYERS (scripts/import-graph.ts)`);
  return index;
}

function parse(path: string): ts.SourceFile {
  return ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

interface Specifier {
  text: string;
  typeOnly: boolean;
  node: ts.Node;
}

function specifiersOf(source: ts.SourceFile): Specifier[] {
  const found: Specifier[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly = clause !== undefined && (clause.isTypeOnly || allTypeOnly(clause));
      found.push({ text: node.moduleSpecifier.text, typeOnly, node });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ text: node.moduleSpecifier.text, typeOnly: node.isTypeOnly, node });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteralLike(arg)) found.push({ text: arg.text, typeOnly: false, node });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const literal = node.argument.literal;
      if (ts.isStringLiteral(literal)) found.push({ text: literal.text, typeOnly: true, node });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function allTypeOnly(clause: ts.ImportClause): boolean {
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  if (!bindings || !ts.isNamedImports(bindings) || bindings.elements.length === 0) return false;
  return bindings.elements.every((element) => element.isTypeOnly);
}

/** Every import between two files of src/ (imports of packages and node: modules are left out). */
export function importEdges(src = SRC): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const path of listSources(src)) {
    const source = parse(path);
    for (const spec of specifiersOf(source)) {
      if (!spec.text.startsWith('.')) continue;
      const target = resolve(dirname(path), spec.text).replace(/\.js$/, '.ts');
      const to = relative(src, target);
      if (to.startsWith('..')) continue; // outside src/ (e.g. package.json)
      if (!to.endsWith('.ts')) continue; // JSON data
      const line = source.getLineAndCharacterOfPosition(spec.node.getStart(source)).line + 1;
      edges.push({ from: relative(src, path), to, typeOnly: spec.typeOnly, line });
    }
  }
  return edges;
}

/** The import loops: groups of two or more files (or one importing itself) that reach each other (Tarjan). */
export function importLoops(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const edge of edges) {
    if (!next.has(edge.from)) next.set(edge.from, new Set());
    if (!next.has(edge.to)) next.set(edge.to, new Set());
    next.get(edge.from)!.add(edge.to);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  let counter = 0;
  // Iterative Tarjan: the graph is small, but recursion depth should not depend on it.
  for (const root of [...next.keys()].sort()) {
    if (index.has(root)) continue;
    const work: { node: string; children: string[]; at: number }[] = [];
    const open = (node: string): void => {
      index.set(node, counter);
      low.set(node, counter);
      counter += 1;
      stack.push(node);
      onStack.add(node);
      work.push({ node, children: [...next.get(node)!].sort(), at: 0 });
    };
    open(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      if (frame.at < frame.children.length) {
        const child = frame.children[frame.at]!;
        frame.at += 1;
        if (!index.has(child)) open(child);
        else if (onStack.has(child)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(child)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) !== index.get(frame.node)) continue;
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        group.push(member);
      } while (member !== frame.node);
      const selfLoop = group.length === 1 && next.get(frame.node)!.has(frame.node);
      if (group.length > 1 || selfLoop) groups.push(group.sort());
    }
  }
  return groups.sort((a, b) => a[0]!.localeCompare(b[0]!));
}

/** Imports from a folder into a folder of a higher layer, or between two folders kept {@link APART}. */
export function upwardImports(edges: readonly ImportEdge[]): ImportEdge[] {
  const apart = (a: string, b: string): boolean => a !== b && APART.some((pair) => pair.includes(a) && pair.includes(b));
  return edges.filter((edge) => {
    const from = folderOf(edge.from);
    const to = folderOf(edge.to);
    return layerOf(to) > layerOf(from) || apart(from, to);
  });
}

function functionName(node: ts.Node, source: ts.SourceFile): string {
  const named = node as ts.Node & { name?: ts.Node };
  if (named.name) return named.name.getText(source);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent)) return parent.name.getText(source);
  if (parent && ts.isPropertyAssignment(parent)) return parent.name.getText(source);
  return '(anonymous)';
}

/** Every function, method, accessor and arrow function of src/ with its length in lines, longest first. */
export function functionSizes(src = SRC): FunctionSize[] {
  const sizes: FunctionSize[] = [];
  for (const path of listSources(src)) {
    const source = parse(path);
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body) {
        const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
        const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
        sizes.push({ file: relative(src, path), name: functionName(node, source), line: start + 1, lines: end - start + 1 });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return sizes.sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file));
}

function main(): void {
  const edges = importEdges();
  const loops = importLoops(edges);
  const runtimeLoops = importLoops(edges.filter((edge) => !edge.typeOnly));
  const upward = upwardImports(edges);
  const longest = functionSizes().slice(0, 5);
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ files: listSources().length, edges: edges.length, loops, runtimeLoops, upward, longest }, null, 2)}\n`);
    return;
  }
  const lines = [
    `files ${listSources().length}, imports between them ${edges.length}`,
    `import loops: ${loops.length} (${runtimeLoops.length} without type-only imports)`,
    ...loops.map((group) => `  ${group.join(' ↔ ')}`),
    `upward imports: ${upward.length}`,
    ...upward.map((e) => `  ${e.from}:${e.line} → ${e.to}${e.typeOnly ? ' (type)' : ''}  [layer ${layerOf(folderOf(e.from))} → ${layerOf(folderOf(e.to))}]`),
    'longest functions:',
    ...longest.map((f) => `  ${f.lines} lines  ${f.file}:${f.line} ${f.name}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
