/**
 * PackageInfo's payload numbers (`numberOfFiles`, `installKBytes`) recomputed from a read Payload, as pkgbuild
 * counts them (src/pkg/payload.ts): every entry but `.`, directories at their APFS st_size (32 × link count, read
 * from the cpio header), files at their size. `verify` compares them with PackageInfo; `inspect` shows them.
 */
import type { CpioEntry } from '../pkg/cpio.js';
import { payloadStats, type PayloadEntry, type PayloadStats } from '../pkg/payload.js';

/** The payload statistics of the read cpio entries. */
export function statsFromPayload(entries: readonly CpioEntry[]): PayloadStats {
  // payloadStats reads only `path` and `size`.
  const sized = entries.map((e) => ({ path: e.path, size: e.kind === 'dir' ? 32 * e.nlink : e.size }));
  return payloadStats(sized as unknown as PayloadEntry[]);
}
