// Write `total` bytes of `chunk` to a writable with back-pressure, then end it.
/** Pump `total` bytes into `stream` in `chunk`-sized writes, honouring 'drain'; ends the stream. */
export function pumpBytes (stream, total, chunk) {
  let left = total
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length)
      left -= n
      if (!stream.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return stream.once('drain', pump)
    }
    stream.end()
  }
  pump()
}
