/**
 * PowerShell syntax check without pwsh: tree-sitter-powershell's wasm grammar through web-tree-sitter (reference
 * launchd-intune-ops.md §4.3). A script passes when its tree has no ERROR or MISSING node and no `try` lacks its
 * `catch`/`finally` (the one error the grammar accepts). Used by `verify FILE.ps1` and by test/intune.
 *
 * Covers syntax only: `param([string]$Host)` parses but fails at run time. The grammar also rejects a few valid
 * constructs (one-line switch clauses, `using namespace` before `param`, a file ending right after `param(...)`,
 * one-line function bodies with `param`, a parameter name ending in a digit 1-6 followed by a space); our templates
 * avoid them, so a hit on a generated script is a real finding.
 *
 * The two packages are loaded lazily with a dynamic import, so the rest of the CLI runs where they are absent;
 * {@link PsParserUnavailable} then says why the check could not run.
 */
import { createRequire } from 'node:module';
import type { Node, Parser, Tree } from 'web-tree-sitter';

const GRAMMAR_WASM = 'tree-sitter-powershell/tree-sitter-powershell.wasm';

/** The grammar could not be loaded (packages not installed): the syntax check cannot run. */
export class PsParserUnavailable extends Error {}

export interface PsSyntaxIssue {
  /** 1-based position of the node. */
  line: number;
  column: number;
  /** `error`: an ERROR node; `missing`: a token the parser had to invent; `try`: a try without catch/finally. */
  kind: 'error' | 'missing' | 'try' | 'unlocated';
  /** For `missing`: the token type expected (e.g. `)`). */
  expected?: string;
  /** Source text of an ERROR node (first 60 characters). May hold a secret of the script: never print it in product output. */
  text?: string;
}

let loading: Promise<Parser> | undefined;

async function loadParser(): Promise<Parser> {
  let mod: typeof import('web-tree-sitter');
  let wasm: string;
  try {
    mod = await import('web-tree-sitter');
    wasm = createRequire(import.meta.url).resolve(GRAMMAR_WASM);
  } catch (e) {
    throw new PsParserUnavailable(`web-tree-sitter and tree-sitter-powershell are needed for the PowerShell syntax check (${(e as Error).message.split('\n')[0]})`);
  }
  await mod.Parser.init();
  const parser = new mod.Parser();
  parser.setLanguage(await mod.Language.load(wasm));
  return parser;
}

/** The shared parser (loaded once). Rejects with PsParserUnavailable when the packages are absent. */
export function psParser(): Promise<Parser> {
  return (loading ??= loadParser());
}

/** Parse PowerShell source. The caller owns the tree (call `tree.delete()` when done in long-running code). */
export async function parsePs(source: string): Promise<Tree> {
  const tree = (await psParser()).parse(source);
  if (!tree) throw new Error('tree-sitter returned no tree');
  return tree;
}

/** Every node of a tree, depth first. */
export function* psNodes(n: Node): Generator<Node> {
  yield n;
  for (const c of n.children) if (c) yield* psNodes(c);
}

/** Every syntax issue, in source order; empty when the script parses cleanly. */
export async function psSyntaxIssues(source: string): Promise<PsSyntaxIssue[]> {
  const tree = await parsePs(source);
  try {
    const issues: PsSyntaxIssue[] = [];
    for (const n of psNodes(tree.rootNode)) {
      const at = { line: n.startPosition.row + 1, column: n.startPosition.column + 1 };
      if (n.isError) issues.push({ ...at, kind: 'error', text: n.text.slice(0, 60) });
      else if (n.isMissing) issues.push({ ...at, kind: 'missing', expected: n.type });
      else if (n.type === 'try_statement' && !n.children.some((c) => c && /catch|finally/.test(c.type))) issues.push({ ...at, kind: 'try' });
    }
    // In web-tree-sitter 0.27 a MISSING node is not always reachable through `children` (§4.3): never pass a tree
    // that says it has an error.
    if (tree.rootNode.hasError && issues.length === 0) issues.push({ line: 1, column: 1, kind: 'unlocated' });
    return issues;
  } finally {
    tree.delete();
  }
}

/** A message for an issue that shows no script text (scripts may hold keys). */
export function psIssueMessage(i: PsSyntaxIssue): string {
  const at = `line ${i.line}, column ${i.column}`;
  switch (i.kind) {
    case 'error':
      return `${at}: PowerShell syntax error (tree-sitter-powershell ERROR node)`;
    case 'missing':
      return `${at}: PowerShell syntax error, missing ${JSON.stringify(i.expected)}`;
    case 'try':
      return `${at}: try without catch or finally`;
    default:
      return 'PowerShell syntax error that tree-sitter-powershell does not locate';
  }
}
