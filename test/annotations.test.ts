/**
 * `check --format github`: problems as GitHub Actions workflow commands, placed on the file and line
 * they name, escaped as @actions/core escapes them.
 */
import t from 'tap'
import { formatAnnotation } from '../src/commands/annotations.js'

const FILES = ['config/routes.yaml', 'nais.yaml']

t.test('a problem at <file>:<line> of a checked file is an annotation on that file and line', async (t) => {
  t.equal(formatAnnotation('error', 'config/routes.yaml:14: GET,HEAD /api needs nav:a:b, which nais.yaml does not expose', FILES),
    '::error file=config/routes.yaml,line=14,title=portvakt check::GET,HEAD /api needs nav:a:b, which nais.yaml does not expose\n')
  t.equal(formatAnnotation('warning', 'nais.yaml:26: nav:a:c is exposed but no route needs it', FILES),
    '::warning file=nais.yaml,line=26,title=portvakt check::nav:a:c is exposed but no route needs it\n')
})

t.test('a problem naming a checked file without a line is an annotation on the file', async (t) => {
  t.equal(formatAnnotation('error', 'nais.yaml: no spec.maskinporten.scopes.exposes', FILES),
    '::error file=nais.yaml,title=portvakt check::no spec.maskinporten.scopes.exposes\n')
})

t.test('a problem that names no checked file is an annotation on the run, whatever file:line its text holds', async (t) => {
  t.equal(formatAnnotation('error', 'ENOENT: no such file or directory, open \'x.yaml\'', FILES),
    '::error title=portvakt check::ENOENT: no such file or directory, open \'x.yaml\'\n')
  t.equal(formatAnnotation('error', 'other.yaml:3: see config/routes.yaml:14', FILES),
    '::error title=portvakt check::other.yaml:3: see config/routes.yaml:14\n', 'a location inside the text is not the location')
  t.equal(formatAnnotation('error', 'config/routes.yamlx:3: a longer name', FILES),
    '::error title=portvakt check::config/routes.yamlx:3: a longer name\n', 'a file whose name only starts like a checked one')
})

t.test('a leading ./ is dropped: GitHub resolves the path from the repository root', async (t) => {
  t.equal(formatAnnotation('error', './routes.yaml:2: bad', ['./routes.yaml']), '::error file=routes.yaml,line=2,title=portvakt check::bad\n')
})

t.test('a message cannot end the command or start another; properties cannot break out of theirs', async (t) => {
  // A problem echoes what the route file holds, so its text is the file author's.
  const line = formatAnnotation('error', 'config/routes.yaml:3: unknown key "a\n::add-mask::x\r%0A"', FILES)
  t.equal(line, '::error file=config/routes.yaml,line=3,title=portvakt check::unknown key "a%0A::add-mask::x%0D%250A"\n')
  t.equal(line.split('\n').length, 2, 'one line')
  t.equal(formatAnnotation('warning', 'a,b:c.yaml:1: x', ['a,b:c.yaml']), '::warning file=a%2Cb%3Ac.yaml,line=1,title=portvakt check::x\n')
})
