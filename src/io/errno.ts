/** A file-system error code in words, for the messages of src/io (e.g. ENOSPC → "no space left on the device"). */
export function explain(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied (is the folder writable?)';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOTDIR':
      return 'a parent of this path is not a folder';
    case 'EISDIR':
      return 'a folder stands where the file should go';
    default:
      return err?.message ?? String(e);
  }
}

/** The errno code of a thrown value, if any. */
export function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}
