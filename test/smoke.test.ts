import t from 'tap'
import { build } from './helpers/build.js'

t.test('forwards a request with a valid token and sets identity headers', async (t) => {
  const h = await build(t)
  const token = await h.mint()
  const res = await fetch(`${h.url}/api/v1/arbeidsforhold/42?x=1`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(res.status, 200)
  const seen = await res.json() as { url: string, headers: Record<string, string> }
  t.equal(seen.url, '/api/v1/arbeidsforhold/42?x=1')
  t.equal(seen.headers['x-maskinporten-consumer'], '123456789')
})
