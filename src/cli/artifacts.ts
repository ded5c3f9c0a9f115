/**
 * Output handling shared by the commands: the early check of `--out` (before any work; src/io/output-target.ts), the
 * sweep of killed runs' debris (src/io/debris.ts) and writing planned artifacts under an output folder (atomic,
 * with their modes), described for the command's output.
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BatchWriter } from '../io/batch.js';
import { sweepStaleDebris, withSubfolders } from '../io/debris.js';
import { checkOutputTarget, writeFileAtomic, type OutputKind } from '../io/fs.js';
import { writeDestination } from '../io/output-target.js';
import type { Artifact } from '../profiles/plan.js';
import type { CliContext } from './command.js';

export interface WrittenFile {
  path: string;
  bytes: number;
  mode: string;
  /** Omitted for secret-bearing files. */
  sha256?: string;
  secret: boolean;
}

/**
 * Before any work: `target` (an absolute `--out`, a file or a folder as `kind` says) must be usable — an existing
 * device, FIFO, socket or a link to one (or to nothing) is refused with exit 3. `what` names the option. Then what
 * killed runs left in TMPDIR and where this output goes (the folder and its subfolders, or the file's folder) is
 * removed ({@link sweepDebris}).
 */
export async function prepareOutput(ctx: CliContext, target: string, kind: OutputKind, what = '--out'): Promise<void> {
  await checkOutputTarget(target, what, kind);
  await sweepDebris(ctx, kind === 'folder' ? await withSubfolders(target) : [path.dirname(target)]);
}

/**
 * Remove the debris of killed aiwatch-deploy runs (src/io/debris.ts: our own temporary folders and partial files
 * whose PID is gone) from TMPDIR and `dirs`, one line on stderr per folder where something was removed.
 */
export async function sweepDebris(ctx: CliContext, dirs: readonly string[] = []): Promise<void> {
  await sweepStaleDebris([tmpdir(), ...dirs], { report: (line) => ctx.stderr(`${line}\n`) });
}

function described(file: string, a: Artifact): WrittenFile {
  const w: WrittenFile = { path: file, bytes: a.bytes.length, mode: `0${a.mode.toString(8)}`, secret: a.secret };
  if (!a.secret) w.sha256 = createHash('sha256').update(a.bytes).digest('hex');
  return w;
}

export async function writeArtifact(file: string, a: Artifact): Promise<WrittenFile> {
  await writeFileAtomic(file, a.bytes, { mode: a.mode });
  return described(file, a);
}

/** Write every artifact under `dir`; each destination is checked first, so a refused one leaves the others unwritten. */
export async function writeArtifacts(dir: string, artifacts: readonly Artifact[]): Promise<WrittenFile[]> {
  const files = artifacts.map((a) => path.join(dir, ...a.path.split('/')));
  for (const f of files) await writeDestination(f);
  const out: WrittenFile[] = [];
  for (const [i, a] of artifacts.entries()) out.push(await writeArtifact(files[i]!, a));
  return out;
}

/** {@link writeArtifacts} through a batch writer (io/batch.ts: the same guarantees, for thousands of files; `writer.finish()` ends it). */
export async function writeArtifactsBatch(writer: BatchWriter, dir: string, artifacts: readonly Artifact[]): Promise<WrittenFile[]> {
  const files = artifacts.map((a) => path.join(dir, ...a.path.split('/')));
  await writer.writeAll(artifacts.map((a, i) => ({ target: files[i]!, data: a.bytes, mode: a.mode })));
  return artifacts.map((a, i) => described(files[i]!, a));
}
