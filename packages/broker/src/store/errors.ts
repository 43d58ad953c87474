// Errors of the message store that callers tell apart (sends answer them with different codes).

/**
 * The store takes no appends: a write failed (disk full, I/O error) and was rolled back. It
 * probes the disk and becomes writable again by itself; `cause` is the write error.
 */
export class StoreNotWritableError extends Error {
  override name = 'StoreNotWritableError';
  readonly code = 'STORE_NOT_WRITABLE';
}

/** The code of a write error ("ENOSPC"), or its message. */
export function describeWriteError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err?.code ? `${err.code}: ${err.message}` : String(err?.message ?? e);
}
