/** Route-table problems as a list, for asserting on each line-numbered message. */
import { ConfigError } from '../../src/config/errors.js'
import { parseRoutes } from '../../src/config/routes.js'

/** The problems `parseRoutes` reports for `yaml` (named routes.yaml); empty when it compiles. */
export function problemsOf (yaml: string): readonly string[] {
  try {
    parseRoutes(yaml, 'routes.yaml')
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}
