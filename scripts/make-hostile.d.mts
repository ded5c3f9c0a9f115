/** Types of scripts/make-hostile.mjs (the hostile-input corpus generator), for test/hostile. */
export interface HostileFile {
  /** File name in the corpus, e.g. `toc-5000-deep.pkg`. */
  name: string;
  /** Committed under test/fixtures/hostile/ (small on disk); otherwise generated into a temporary folder. */
  small: boolean;
  /** What it attacks. */
  about: string;
  /** Write it to `file`. */
  make: (file: string) => Promise<void> | void;
}
export const HOSTILE: HostileFile[];
/** Write the corpus into `dir`: the small files, or `all`, or the names in `only`; returns the paths written. */
export function makeHostile(dir: string, opts?: { all?: boolean; only?: string[] }): Promise<string[]>;

/** A BOMStore under construction (see the script): blocks by id, aliases, nodes, path records. */
export interface BomBuilderInstance {
  blocks: Array<{ bytes?: Buffer; aliasOf?: number }>;
  add(bytes: Buffer): number;
  alias(id: number): number;
  node(leaf: boolean, pairs: Array<[number, number]>, fwd?: number, back?: number, size?: number): number;
  record(id: number, parentId: number, name: string, opts?: { dir?: boolean; size?: number; cksum?: number }): [number, number];
  bytes(pathsRoot: number, pathCount: number): Buffer;
}
type Member = { path: string; bytes: Buffer; zlib?: boolean };
/** The builders the corpus is made of, for tests that vary an attack. */
export const build: {
  xarBytes(filesXml: string, heap?: Buffer): Buffer;
  pkgBytes(members: Member[]): Buffer;
  productPkg(parts: { bom?: Buffer; info?: Buffer; payload?: Buffer }): Buffer;
  packageInfo(files: number, kbytes: number): Buffer;
  BomBuilder: new () => BomBuilderInstance;
  bomTwoFiles(size: number, cksum?: number): Buffer;
  bomAliasedLeaf(aliases: number): Buffer;
  cpioHeader(name: string, size: number, mode?: number): Buffer;
  cpioTrailer(): Buffer;
  zipBytes(entries: Array<{ name: string; data?: Buffer; deflate?: boolean; declared?: number; zeros?: number }>): Buffer;
  intuneWin(inner: Buffer, opts?: { claimedSize?: string; setupFile?: string }): Buffer;
  deepProfile(depth: number): Buffer;
  cmsDeepNesting(depth: number): Buffer;
  SCRIPT: Buffer;
};
