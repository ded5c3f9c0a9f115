/**
 * The release zip: a deterministic writer (over yazl) and a reader (over yauzl) for verify/inspect.
 *
 * Entries are DEFLATEd at level 6 unless the caller says they are compressed already (the pkg: its Payload is gzip,
 * so deflating it again costs a full pass over the largest file for a gain of well under 1%).
 * Determinism: entries in the order given (the release plan sorts them), a fixed mode per entry, every mtime the
 * same SOURCE_DATE_EPOCH instant, DEFLATE at a fixed level. The ZIP "DOS" timestamp has no time zone: yazl encodes it
 * from the Date's *local* fields, so two machines in different zones would write different bytes. We therefore
 * (a) disable yazl's UTC extended-timestamp field (`forceDosTimestamp`) and (b) hand yazl a Date whose local fields
 * equal the UTC calendar fields of the epoch, so the stored DOS time is the UTC time wherever the build runs.
 * DOS times start in 1980: an earlier SOURCE_DATE_EPOCH is clamped to 1980-01-01 00:00 (as yazl does).
 */
import { createReadStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import yazl from 'yazl';

export interface ZipEntryInput {
  /** Path inside the zip, `/`-separated, no leading slash. */
  name: string;
  /** Unix permission bits (0o644, 0o755). */
  mode: number;
  source: { bytes: Uint8Array } | { file: string };
  /** DEFLATE the entry (default true); false stores it, for data that is compressed already (the .pkg). */
  compress?: boolean;
}

/** A Date whose local calendar fields are the UTC fields of `epochSeconds` (see header). */
export function dosDateFor(epochSeconds: number): Date {
  const ms = Math.max(epochSeconds, 315532800) * 1000;
  const utc = new Date(ms);
  return new Date(utc.getUTCFullYear(), utc.getUTCMonth(), utc.getUTCDate(), utc.getUTCHours(), utc.getUTCMinutes(), utc.getUTCSeconds());
}

/** Write a deterministic zip of `entries` to `out`. Resolves when everything has been written. */
export async function writeZip(entries: readonly ZipEntryInput[], epochSeconds: number, out: Writable): Promise<void> {
  const zip = new yazl.ZipFile();
  const mtime = dosDateFor(epochSeconds);
  for (const e of entries) {
    const compression = e.compress === false ? { compress: false } : { compress: true, compressionLevel: 6 };
    const opts = { mtime, mode: 0o100000 | e.mode, ...compression, forceDosTimestamp: true };
    if ('bytes' in e.source) zip.addBuffer(Buffer.from(e.source.bytes), e.name, opts);
    else zip.addReadStream(createReadStream(e.source.file), e.name, opts);
  }
  zip.end();
  await pipeline(zip.outputStream, out, { end: false });
}

export interface ZipEntryInfo {
  name: string;
  mode: number;
  size: number;
  compressedSize: number;
  /** DOS timestamp as an ISO string (UTC calendar as stored). */
  mtime: string;
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: false, validateEntrySizes: true }, (err, zf) => (err || !zf ? reject(err ?? new Error('cannot open zip')) : resolve(zf))),
  );
}

/** Read every entry of a zip; `withData` also returns each entry's bytes (for verify: hashes, nested pkgs). */
export async function readZip(file: string, withData: (name: string) => boolean = () => false): Promise<Array<ZipEntryInfo & { data?: Buffer }>> {
  const zf = await openZip(file);
  const out: Array<ZipEntryInfo & { data?: Buffer }> = [];
  try {
    await new Promise<void>((resolve, reject) => {
      zf.on('error', reject);
      zf.on('end', () => resolve());
      zf.on('entry', (entry: yauzl.Entry) => {
        const d = entry.getLastModDate({ forceDosFormat: true, timezone: 'UTC' } as never);
        const info: ZipEntryInfo & { data?: Buffer } = {
          name: entry.fileName,
          mode: (entry.externalFileAttributes >>> 16) & 0o7777,
          size: entry.uncompressedSize,
          compressedSize: entry.compressedSize,
          mtime: d.toISOString(),
        };
        out.push(info);
        if (!withData(entry.fileName)) {
          zf.readEntry();
          return;
        }
        zf.openReadStream(entry, (err, rs) => {
          if (err || !rs) return reject(err ?? new Error(`cannot read ${entry.fileName}`));
          const chunks: Buffer[] = [];
          rs.on('data', (c: Buffer) => chunks.push(c));
          rs.on('error', reject);
          rs.on('end', () => {
            info.data = Buffer.concat(chunks);
            zf.readEntry();
          });
        });
      });
      zf.readEntry();
    });
  } finally {
    zf.close();
  }
  return out;
}
