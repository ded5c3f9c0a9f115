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
