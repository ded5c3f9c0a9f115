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
 *
 * Bounded: a script is parsed once, and only within Intune's 200 KB (the callers refuse larger ones from their
 * size, unread). The parser's WebAssembly memory is ours (a WebAssembly.Memory handed to web-tree-sitter with a
 * hard maximum), and a parse is cancelled once that memory outgrows what the script's size warrants
 * (LIMITS['ps1.parser-bytes'], {@link PsParseLimit}): a 200 KB script of 100,000 nested parentheses would otherwise
 * take ~250 MB. The tree is searched without recursion: ERROR/MISSING nodes by a TreeCursor that enters only
 * subtrees holding an error, `try` statements with descendantsOfType.
 * Memory: V8 tiers the grammar's 459 KB lexer function (wasm function #4 of tree-sitter-powershell.wasm) up to its
 * optimizing compiler after a few calls, and that one compilation takes ~2.1 GB for ~2 s, whatever the script's
 * size (measured with --trace-wasm-compilation-times). The CLI therefore runs with wasm tier-up off
 * (bin/aiwatch-deploy.js, {@link WASM_TIER_UP_OFF}): Liftoff's code parses a 200 KB script in ~0.2 s. In-process users
 * (tests, library callers) pay the 2 GB unless they start Node with those flags; V8 reads them only at start.
 */
import { createRequire } from 'node:module';
import type { Node, Parser, Tree } from 'web-tree-sitter';
import { LIMITS } from '../formats/limits.js';

const GRAMMAR_WASM = 'tree-sitter-powershell/tree-sitter-powershell.wasm';

/** The V8 flags that keep WebAssembly on its baseline compiler (see the header); bin/aiwatch-deploy.js starts with them. */
export const WASM_TIER_UP_OFF = ['--no-wasm-tier-up', '--no-wasm-dynamic-tiering'] as const;

/** The grammar could not be loaded (packages not installed): the syntax check cannot run. */
export class PsParserUnavailable extends Error {}

/** Parsing this script needs more memory than its size warrants (a hostile script): not parsed. */
export class PsParseLimit extends Error {}

const WASM_PAGE = 65536;
/** The parser's memory: 32 MiB to start (what web-tree-sitter's module declares), the limit plus growth headroom at most. */
const MEMORY_INITIAL = 32 << 20;
const MEMORY_MAXIMUM = LIMITS['ps1.parser-bytes'] + (64 << 20);
/** The part of WebAssembly.Memory used here (the global is not in this project's type libraries). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number; maximum: number }) => WasmMemory } }).WebAssembly;
let memory: WasmMemory | undefined;
/** Once a parse ran the memory out, web-tree-sitter is unusable in this process. */
let exhausted = false;

/** How much parser memory a script of `bytes` bytes may take: a base for the grammar plus a share per byte, capped. */
export function parserBudget(bytes: number): number {
  return Math.min(LIMITS['ps1.parser-bytes'], LIMITS['ps1.parser-base-bytes'] + LIMITS['ps1.parser-bytes-per-byte'] * bytes);
}

/** The parser's WebAssembly memory now (0 before the first parse): for tests and the benchmark. */
export function parserMemoryBytes(): number {
  return memory?.buffer.byteLength ?? 0;
}

export interface PsSyntaxIssue {
  /** 1-based position of the node. */
  line: number;
  column: number;
  /**
   * `error`: an ERROR node; `missing`: a token the parser had to invent; `try`: a try without catch/finally;
   * `unlocated`: the tree has an error no node shows; `more`: `count` further issues not listed.
   */
  kind: 'error' | 'missing' | 'try' | 'unlocated' | 'more';
  /** For `more`: how many. */
  count?: number;
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
  try {
    memory = new Memory({ initial: MEMORY_INITIAL / WASM_PAGE, maximum: MEMORY_MAXIMUM / WASM_PAGE });
    await mod.Parser.init({ wasmMemory: memory });
    const parser = new mod.Parser();
    parser.setLanguage(await mod.Language.load(wasm));
    return parser;
  } catch (e) {
    throw new PsParserUnavailable(`the PowerShell grammar could not be started (${(e as Error).message.split('\n')[0]})`);
  }
}

/** The shared parser (loaded once). Rejects with PsParserUnavailable when the packages are absent. */
export function psParser(): Promise<Parser> {
  return (loading ??= loadParser());
}

/**
 * Parse PowerShell source within {@link parserBudget} of memory (else {@link PsParseLimit}). The caller owns the
 * tree (call `tree.delete()` when done in long-running code).
 */
export async function parsePs(source: string): Promise<Tree> {
  const parser = await psParser();
  if (exhausted) throw new PsParseLimit('the PowerShell parser is unavailable: an earlier script exhausted its memory');
  const mem = memory!;
  const allowed = Math.max(mem.buffer.byteLength, parserBudget(Buffer.byteLength(source)));
  let over = false;
  let tree: Tree | null;
  try {
    tree = parser.parse(source, null, { progressCallback: () => (over ||= mem.buffer.byteLength > allowed) });
  } catch (e) {
    // A malloc past the memory's maximum aborts inside the wasm, leaving web-tree-sitter unusable.
    exhausted = true;
    throw new PsParseLimit(`parsing it ran the parser's ${MEMORY_MAXIMUM >> 20} MiB of memory out (${(e as Error).message})`);
  }
  if (over || !tree) {
    tree?.delete();
    parser.reset();
    throw new PsParseLimit(`parsing it needs more than the ${allowed >> 20} MiB of parser memory a script of its size may take: over the limit (nesting far deeper than any real script)`);
  }
  return tree;
}

/** Every node under `root` (itself first), depth first, walked with a TreeCursor: no recursion, whatever the nesting. */
export function* psNodes(root: Node): Generator<Node> {
  const cursor = root.walk();
  try {
    for (;;) {
      yield cursor.currentNode;
      if (cursor.gotoFirstChild()) continue;
      while (!cursor.gotoNextSibling()) if (!cursor.gotoParent()) return;
    }
  } finally {
    cursor.delete();
  }
}

/** At most this many issues are listed (a garbage file has one per token); the rest are counted. */
const MAX_ISSUES = 50;

/** ERROR and MISSING nodes, in source order, entering only subtrees that hold an error (a TreeCursor: no recursion). */
function errorIssues(root: Node, issues: PsSyntaxIssue[]): number {
  let more = 0;
  const cursor = root.walk();
  try {
    for (;;) {
      const n = cursor.currentNode;
      const at = { line: n.startPosition.row + 1, column: n.startPosition.column + 1 };
      const issue: PsSyntaxIssue | undefined = n.isError ? { ...at, kind: 'error', text: n.text.slice(0, 60) } : n.isMissing ? { ...at, kind: 'missing', expected: n.type } : undefined;
      if (issue && issues.length < MAX_ISSUES) issues.push(issue);
      else if (issue) more += 1;
      if (n.hasError && cursor.gotoFirstChild()) continue;
      while (!cursor.gotoNextSibling()) if (!cursor.gotoParent()) return more;
    }
  } finally {
    cursor.delete();
  }
}

/** Every syntax issue, in source order (at most {@link MAX_ISSUES}, then a count); empty when the script parses cleanly. */
export async function psSyntaxIssues(source: string): Promise<PsSyntaxIssue[]> {
  const tree = await parsePs(source);
  try {
    const issues: PsSyntaxIssue[] = [];
    let more = tree.rootNode.hasError ? errorIssues(tree.rootNode, issues) : 0;
    for (const t of tree.rootNode.descendantsOfType('try_statement')) {
      if (!t || t.children.some((c) => c && /catch|finally/.test(c.type))) continue;
      if (issues.length < MAX_ISSUES) issues.push({ line: t.startPosition.row + 1, column: t.startPosition.column + 1, kind: 'try' });
      else more += 1;
    }
    issues.sort((a, b) => a.line - b.line || a.column - b.column);
    // In web-tree-sitter 0.27 a MISSING node is not always reachable through the tree (§4.3): never pass a tree
    // that says it has an error.
    if (tree.rootNode.hasError && issues.length === 0) issues.push({ line: 1, column: 1, kind: 'unlocated' });
    if (more > 0) issues.push({ line: 0, column: 0, kind: 'more', count: more });
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
    case 'more':
      return `${i.count} more PowerShell syntax errors (not listed)`;
    default:
      return 'PowerShell syntax error that tree-sitter-powershell does not locate';
  }
}
