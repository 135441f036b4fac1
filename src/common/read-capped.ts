/**
 * Reads a fetch body to at most `limit` bytes. Past it, the download is aborted (a hostile or broken
 * server cannot make us buffer without bound) and the error `tooLarge` makes is thrown.
 */
export async function readCapped(body: ReadableStream<Uint8Array> | null, limit: number, abort: () => void, tooLarge: () => Error): Promise<Buffer> {
  if (!body) {
    return Buffer.alloc(0);
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      return Buffer.concat(chunks, total);
    }
    total += value.byteLength;
    if (total > limit) {
      abort();
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
}
