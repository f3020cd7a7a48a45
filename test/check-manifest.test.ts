import t from 'tap'
import { runPortvakt } from './helpers/cli.js'

t.test('the shipped route table and nais.yaml agree: portvakt check --manifest passes', async (t) => {
  const res = await runPortvakt(['check', 'config/routes.yaml', '--manifest', 'nais.yaml'])
  t.equal(res.code, 0, res.stderr)
  t.match(res.stdout, /config\/routes\.yaml: valid, and nais\.yaml exposes every route scope and consumes every egress scope/)
  t.notMatch(res.stderr, /error:/)
})

t.test('the gateway example in docs/ agrees with the route table too', async (t) => {
  const res = await runPortvakt(['check', 'config/routes.yaml', '--manifest', 'docs/nais-gateway.yaml'])
  t.equal(res.code, 0, res.stderr)
})
