// Body compression in the zlib format (RFC 1950) RocketMQ's ZLIB type uses (3.8), via the
// web-standard CompressionStream/DecompressionStream ('deflate' = zlib container).
import { CodecError } from '../errors.js';

async function run(bytes: Uint8Array, stream: CompressionStream | DecompressionStream, limit: number): Promise<Uint8Array> {
  const writer = stream.writable.getWriter();
  // Not awaited before reading: the readable side must be drained for the writes to finish.
  const written = writer.write(bytes as Uint8Array<ArrayBuffer>).then(() => writer.close());
  written.catch(() => {}); // the error surfaces on the readable side
  const reader = stream.readable.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw new CodecError('OVERSIZE', `inflated body exceeds ${limit} bytes`);
    }
    chunks.push(value);
  }
  await written;
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let p = 0;
  for (const c of chunks) { out.set(c, p); p += c.length; }
  return out;
}

/** zlib-format compression (CompressionStream('deflate')); bytes differ from Java's, the format is the same. */
export async function compressZlib(body: Uint8Array): Promise<Uint8Array> {
  // async: a runtime without CompressionStream rejects, never throws.
  const stream = new CompressionStream('deflate');
  const writer = stream.writable.getWriter();
  // Not awaited: the readable side is drained meanwhile, and any error surfaces there.
  writer.write(body as Uint8Array<ArrayBuffer>).then(() => writer.close()).catch(() => {});
  return new Uint8Array(await new Response(stream.readable).arrayBuffer());
}

/** Inflates a zlib-format body. Rejects with CodecError('BAD_BODY') for corrupt data, 'OVERSIZE' past `maxSize`. */
export async function decompressZlib(bytes: Uint8Array, maxSize = Infinity): Promise<Uint8Array> {
  try {
    return await run(bytes, new DecompressionStream('deflate'), maxSize);
  } catch (e) {
    if (e instanceof CodecError) throw e;
    throw new CodecError('BAD_BODY', `body is not valid zlib data: ${(e as Error)?.message ?? e}`, { cause: e });
  }
}
