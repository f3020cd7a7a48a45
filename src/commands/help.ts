/**
 * What `portvakt --help` and `portvakt <command> --help` print: text only, kept apart from the
 * parsing (argv.ts) so the parser reads as code.
 */

/** portvakt's commands, each with its help below. */
export type Command = 'serve' | 'dev' | 'token' | 'check'

/** `portvakt --help`: the commands, and the settings most runs need. */
export const GENERAL_HELP = `portvakt: a Maskinporten auth gate in front of your API

Usage: portvakt <command> [options]      (portvakt <command> --help for more)

Commands:
  serve                      run the gate (default)
  serve -- <app command…>    launcher mode: start the app with PORT set, front it, stop it with portvakt
  dev                        run the gate with a local Maskinporten issuer and a demo upstream, for curl testing
  token                      print a token from the running dev issuer
  check                      validate a route table (and cross-check it with a NAIS manifest)
  --help                     show this help
  --version, -v              print portvakt's version and the Node it runs on

Environment (serve): see the README's settings table; the main ones:
  MASKINPORTEN_ISSUER, MASKINPORTEN_JWKS_URI, MASKINPORTEN_WELL_KNOWN_URL
  PORTVAKT_ROUTES (config/routes.yaml), PORTVAKT_UPSTREAM (http://127.0.0.1:8081), PORTVAKT_PORT (8080)
  PORTVAKT_ADMIN_PORT (8079): /isalive, /isready, /metrics
  egress (when the route table lists it): NAIS_TOKEN_ENDPOINT, PORTVAKT_EGRESS_PORT (8083, on 127.0.0.1)

Signals (serve): SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the route table
`

/** `portvakt <command> --help` for each command. */
export const COMMAND_HELP: Record<Command, string> = {
  serve: `Usage: portvakt serve                      run the gate (also: portvakt with no command)
       portvakt serve -- <app command…>   launcher mode: start the app with PORT set, front it, stop it with portvakt

Takes no options: everything is set in the environment (the README's settings table). The main ones:
  MASKINPORTEN_ISSUER, MASKINPORTEN_JWKS_URI  the issuer to trust (NAIS sets them), or
  MASKINPORTEN_WELL_KNOWN_URL                 to discover both
  PORTVAKT_ROUTES      config/routes.yaml      the route table
  PORTVAKT_UPSTREAM    http://127.0.0.1:8081   the app (its origin only)
  PORTVAKT_PORT        8080                    the gate's port
  PORTVAKT_ADMIN_PORT  8079                    /isalive, /isready, /metrics
  egress (when the route table lists it): NAIS_TOKEN_ENDPOINT, PORTVAKT_EGRESS_PORT (8083, on 127.0.0.1)

Signals: SIGTERM/SIGINT drain and exit 0 (launcher mode: the app's status); SIGHUP reloads the route table.
Exit 1 with every problem named when the settings or the route table are wrong; 2 on a bad option.
`,
  dev: `Usage: portvakt dev   (npm run dev)

Starts, in one process, on loopback:
  a local Maskinporten issuer  http://127.0.0.1:$PORTVAKT_DEV_ISSUER_PORT/ (metadata, /jwk, POST /token)
  a local Altinn               http://127.0.0.1:$PORTVAKT_DEV_ALTINN_PORT/ (token exchange, PDP from the grants file)
  a demo upstream              echoes method, path, query and the identity headers it receives
  the gate                     trusting that issuer only, watching the route file for edits
Refuses to start when NAIS_CLUSTER_NAME is set: dev tokens are signed with a key on local disk.

Environment:
  PORTVAKT_DEV_ISSUER_PORT    8090                 the dev issuer's port
  PORTVAKT_DEV_UPSTREAM_PORT  8081                 the demo upstream's port
  PORTVAKT_DEV_ALTINN_PORT    8091                 the local Altinn's port
  PORTVAKT_DEV_ALTINN_GRANTS  config/altinn-grants.yaml  what the local PDP permits
  PORTVAKT_UPSTREAM           (the demo upstream)  your app instead of the demo
  PORTVAKT_DEV_DIR            .portvakt            where the dev signing key is kept
  PORTVAKT_ROUTES             config/routes.yaml   the route table
  PORTVAKT_PORT               8080                 the gate's port
  PORTVAKT_HOST               127.0.0.1            the gate's address
  and every other PORTVAKT_* setting of serve; MASKINPORTEN_* and PORTVAKT_ALTINN_URL are ignored
`,
  token: `Usage: portvakt token --scope <scope> [--scope <scope> ...] [options]

Prints one bare token from the running dev issuer (portvakt dev) to stdout, so that
  curl -H "Authorization: Bearer $(npx portvakt token --scope nav:arbeid:arbeidsforhold.read)" localhost:8080/api/v1/arbeidsforhold

Options:
  --scope <scope>      a scope the token holds (repeat for more; space-separated also works)
  --audience <uri>     request an audience-restricted token (resource → aud)
  --orgno <orgno>      the consumer organisation (default 123456789)
  --expires <seconds>  lifetime (default 120, at most 3600)
  --fresh              skip the issuer's token cache
  --supplier <orgno>   a delegated token: this supplier calls for the consumer (--orgno, the customer)
  --systemuser-org <orgno>
                       an Altinn system-user token for this customer; the consumer (--orgno) is the vendor
  --system-id <id>     its system_id (default <orgno>_dev), e.g. 123456789_lonn
  --systemuser-id <uuid>
                       its systemuser_id (default: the same for the same customer and system)
Environment:
  PORTVAKT_DEV_ISSUER_PORT  8090  where the dev issuer listens
Exit 1 when the dev issuer is not running or refuses, or PORTVAKT_DEV_ISSUER_PORT is not a port;
2 on a bad or missing option (no --scope).
`,
  check: `Usage: portvakt check [routes.yaml] [--manifest nais.yaml] [--format github]

Validates a route table without starting anything and prints it compiled: path, methods, scopes
after expansion, audience, consumers, public, delegation and system-user rules; then the egress
targets: name, url, scopes, resource. Exit 0 when valid, 1 with every problem and its line.

Options:
  --manifest <file>  also cross-check with the NAIS manifest's spec.maskinporten.scopes:
                     a route scope not in exposes (or not enabled) is an error, an unused one a warning,
                     so is a delegation: required route on scopes without delegationSource;
                     an egress scope not in consumes is an error, a consumed one no egress uses a warning
  --format github    each problem as a GitHub Actions annotation (::error file=…,line=…::…) on stdout,
                     shown on that file and line in the run and the pull request (default: text)
Environment:
  PORTVAKT_ROUTES  config/routes.yaml  the route table when no file is given
`,
}
