/**
 * A response body read up to a limit: a broken or hostile peer (an issuer, the token endpoint,
 * Altinn) can't make portvakt buffer more than a document of its kind could ever be. `Response.text()`
 * and `.json()` read everything first and measure after.
 */

/** The body was over the limit (declared, or as it arrived); reading stopped there. */
export class BodyTooLarge extends Error {}

/** The body of `response` as UTF-8 text, at most `limit` bytes; throws BodyTooLarge beyond. */
export async function readCapped (response: Response, limit: number, what: string): Promise<string> {
  const tooLarge = (): BodyTooLarge => new BodyTooLarge(`${what} is larger than ${limit} bytes`)
  const declared = Number(response.headers.get('content-length') ?? '0')
  if (declared > limit) {
    await response.body?.cancel()
    throw tooLarge()
  }
  const reader = response.body?.getReader()
  if (reader === undefined) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel()
      throw tooLarge()
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}
