/**
 * How the upstream pool's connections are counted out (proxy/slots.ts): the sharing rules on their
 * own, with real timers. The end-to-end cases (slow uploads, the 503, the share) are in
 * security/slow-clients.test.ts.
 */
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { UpstreamSlots } from '../src/proxy/slots.js'

const LONG = { connections: 3, streams: 1, queueTimeoutMs: 60_000 }

/** Take a connection as forwarding does: at once if one is free, else wait; the wait's cancel. */
function take (slots: UpstreamSlots, streamed: boolean, granted: () => void, timedOut: () => void): () => void {
  if (slots.tryTake(streamed)) {
    granted()
    return () => {}
  }
  return slots.wait(streamed, granted, timedOut)
}

t.test('grants at once while a connection is free, and a streamed body only within its share', async (t) => {
  const slots = new UpstreamSlots(LONG)
  const got: string[] = []
  take(slots, true, () => got.push('stream 1'), () => got.push('timeout'))
  const cancel = take(slots, true, () => got.push('stream 2'), () => got.push('timeout'))
  take(slots, false, () => got.push('plain 1'), () => got.push('timeout'))
  take(slots, false, () => got.push('plain 2'), () => got.push('timeout'))
  t.same(got, ['stream 1', 'plain 1', 'plain 2'], 'the second stream waits; bodiless requests take the rest')
  t.same(slots.stats(), { inUse: 3, streamsInUse: 1, waiting: 1 })
  cancel()
  t.same(slots.stats(), { inUse: 3, streamsInUse: 1, waiting: 0 }, 'a client that leaves stops waiting')
})

t.test('gives a freed connection to the first waiter that fits, skipping streams over their share', async (t) => {
  const slots = new UpstreamSlots(LONG)
  const got: string[] = []
  for (const name of ['s1', 'p1', 'p2']) take(slots, name.startsWith('s'), () => got.push(name), () => got.push(`timeout ${name}`))
  take(slots, true, () => got.push('s2'), () => got.push('timeout s2'))
  take(slots, false, () => got.push('p3'), () => got.push('timeout p3'))
  slots.give(false)
  t.same(got, ['s1', 'p1', 'p2', 'p3'], 'p3 came after s2 but s2 is over the stream share')
  slots.give(true)
  t.same(got, ['s1', 'p1', 'p2', 'p3', 's2'], 'the stream\'s own connection back: s2 goes')
  t.same(slots.stats(), { inUse: 3, streamsInUse: 1, waiting: 0 })
})

t.test('a request still waiting after the queue timeout is told so, and never granted after', async (t) => {
  const slots = new UpstreamSlots({ connections: 1, streams: 1, queueTimeoutMs: 50 })
  const got: string[] = []
  take(slots, false, () => got.push('first'), () => got.push('timeout first'))
  take(slots, false, () => got.push('second'), () => got.push('timeout second'))
  await sleep(200)
  t.same(got, ['first', 'timeout second'])
  slots.give(false)
  t.same(got, ['first', 'timeout second'], 'a timed-out request is not granted later')
  t.same(slots.stats(), { inUse: 0, streamsInUse: 0, waiting: 0 })
})
