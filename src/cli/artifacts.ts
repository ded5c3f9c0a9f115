/** Writing planned artifacts under an output folder (atomic, with their modes) and describing them for output. */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { writeFileAtomic } from '../io/fs.js';
import type { Artifact } from '../plan/profiles.js';

export interface WrittenFile {
  path: string;
  bytes: number;
  mode: string;
  /** Omitted for secret-bearing files. */
  sha256?: string;
  secret: boolean;
}

export async function writeArtifact(file: string, a: Artifact): Promise<WrittenFile> {
  await writeFileAtomic(file, a.bytes, { mode: a.mode });
  const w: WrittenFile = { path: file, bytes: a.bytes.length, mode: `0${a.mode.toString(8)}`, secret: a.secret };
  if (!a.secret) w.sha256 = createHash('sha256').update(a.bytes).digest('hex');
  return w;
}

export async function writeArtifacts(dir: string, artifacts: readonly Artifact[]): Promise<WrittenFile[]> {
  const out: WrittenFile[] = [];
  for (const a of artifacts) out.push(await writeArtifact(path.join(dir, ...a.path.split('/')), a));
  return out;
}
