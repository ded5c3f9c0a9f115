/** SHA-256 of a whole file, streamed (memory does not grow with the file), as lower-case hex. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { InputFileError } from '../errors.js';

export async function sha256File(file: string, what = 'package'): Promise<string> {
  const hash = createHash('sha256');
  try {
    await pipeline(createReadStream(file), hash);
  } catch (e) {
    throw new InputFileError(file, `${what}: cannot read (${(e as Error).message})`, { cause: e });
  }
  return hash.digest('hex');
}
