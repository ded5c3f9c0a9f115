/**
 * PowerShell syntax checks for tests, without pwsh: the parser and the ERROR/MISSING check live in
 * src/read/ps-parse.ts (verify uses them too); this file adds the test-only views of the tree below.
 * A file passes when the tree has no ERROR or MISSING node, and no `try` lacks its `catch`/`finally` (the one
 * error the grammar accepts; reference launchd-intune-ops.md §4.3).
 *
 * House style that avoids the grammar's false positives (valid PowerShell it rejects): the four in §4.3, and one
 * found here: a parameter whose name ends in a digit 1-6 followed by a space (`-Base64 $x`, `-ExpectedSha256 ''`)
 * is read as a stream redirection (`4>`) and yields "MISSING >". The templates use `-Encoded`, `-ExpectedHash`.
 *
 * `shape()` prints a tree with the content of string literals left out, so two renderings that differ only
 * inside string literals have the same shape. Since the grammar knows only the ASCII quote, `asciiQuotes()` first
 * turns the typographic single quotes U+2018-U+201B into `'`, which is what PowerShell itself treats them as.
 */
import type { Node, Tree } from 'web-tree-sitter';
import { parsePs, psNodes, psSyntaxIssues } from '../../src/read/ps-parse.js';

export { parsePs, psParser } from '../../src/read/ps-parse.js';

const nodes = psNodes;

/** Every syntax problem, as `line:column kind text` (1-based), empty when the script parses cleanly. */
export async function psSyntaxProblems(source: string): Promise<string[]> {
  return (await psSyntaxIssues(source)).map((i) => {
    const where = `${i.line}:${i.column}`;
    if (i.kind === 'error') return `${where} ERROR ${JSON.stringify(i.text)}`;
    if (i.kind === 'missing') return `${where} MISSING ${i.expected}`;
    if (i.kind === 'try') return `${where} try without catch or finally`;
    return 'tree has an error that no node reports';
  });
}

const STRING_NODES = new Set(['verbatim_string_characters', 'expandable_string_literal', 'verbatim_here_string_characters', 'expandable_here_string_literal']);

/** PowerShell reads U+2018-U+201B as a single quote; make that explicit for the ASCII-only grammar. */
export function asciiQuotes(source: string): string {
  return source.replace(/[\u2018-\u201B]/g, "'");
}

/**
 * Parse, run `fn` over the tree, then free it: trees live in the parser's WebAssembly memory, which src/read/ps-parse.ts
 * bounds per parse, so a test that kept them would run that memory up across its cases.
 */
async function withTree<T>(source: string, fn: (tree: Tree) => T): Promise<T> {
  const tree = await parsePs(source);
  try {
    return fn(tree);
  } finally {
    tree.delete();
  }
}

/** The tree as nested node types, one per line; string literal content is not part of the shape. */
export async function shape(source: string): Promise<string> {
  return withTree(asciiQuotes(source), (tree) => shapeOf(tree));
}

function shapeOf(tree: Tree): string {
  const lines: string[] = [];
  const walk = (n: Node, depth: number): void => {
    const leafText = n.childCount === 0 && !STRING_NODES.has(n.type) ? ` ${JSON.stringify(n.text)}` : '';
    lines.push(`${'  '.repeat(depth)}${n.type}${leafText}`);
    if (STRING_NODES.has(n.type)) return;
    for (const c of n.children) if (c) walk(c, depth + 1);
  };
  walk(tree.rootNode, 0);
  return lines.join('\n');
}

/** [start, end) character ranges of every string literal (after asciiQuotes). */
export async function stringLiteralRanges(source: string): Promise<Array<[number, number]>> {
  return withTree(asciiQuotes(source), (tree) => {
    const out: Array<[number, number]> = [];
    for (const n of nodes(tree.rootNode)) if (STRING_NODES.has(n.type)) out.push([n.startIndex, n.endIndex]);
    return out;
  });
}

/** Names of variables a script assigns to or declares as parameters. */
export async function assignedVariables(source: string): Promise<string[]> {
  return withTree(source, (tree) => {
    const names = new Set<string>();
    for (const n of nodes(tree.rootNode)) {
      if (n.type === 'left_assignment_expression' || n.type === 'script_parameter') {
        for (const v of nodes(n)) if (v.type === 'variable') names.add(v.text);
      }
    }
    return [...names].sort();
  });
}

/** Commands invoked by name (e.g. `Write-Output`), with the name of the function they appear in ('' at top level). */
export async function commandCalls(source: string): Promise<Array<{ command: string; inFunction: string }>> {
  return withTree(source, (tree) => commandsOf(tree));
}

function commandsOf(tree: Tree): Array<{ command: string; inFunction: string }> {
  const out: Array<{ command: string; inFunction: string }> = [];
  const walk = (n: Node, fn: string): void => {
    let inside = fn;
    if (n.type === 'function_statement') inside = n.children.find((c) => c?.type === 'function_name')?.text ?? fn;
    if (n.type === 'command_name') out.push({ command: n.text, inFunction: fn });
    for (const c of n.children) if (c) walk(c, inside);
  };
  walk(tree.rootNode, '');
  return out;
}
