// What bench/profile.js and bench/perf.js do to a server of bench/server.js they started: wait until it listens, then
// load it as bench/run.js does. Apart from bench/common.js, which the servers import: they must not load autocannon.
import { once } from 'node:events'
import autocannon from 'autocannon'
import { NOTIFY_CLIENTS, requestFeeder, ROUTES } from './common.js'

/** The port a server prints once it can take requests (`listening <port>`); rejects if it exits first. */
export async function listeningPort (server) {
  let stdout = ''
  server.stdout.on('data', chunk => { stdout += chunk })
  while (!/listening \d+/.test(stdout)) {
    await Promise.race([once(server.stdout, 'data'), once(server, 'exit').then(() => { throw new Error('server exited') })])
  }
  return Number(/listening (\d+)/.exec(stdout)[1])
}

/**
 * `seconds` of load on `config`'s route with autocannon: fresh tokens, one per request, built before (Notify's
 * pattern: its clients' own tokens, each sent over and over), as bench/run.js feeds them.
 */
export function load (config, port, seconds, connections = 10) {
  const route = ROUTES[config.route]
  // The configuration's own guess at its rate (key pairs: their tokens are slow to mint), else HS256's.
  const rate = config.rateGuess ?? 45_000
  const feeder = requestFeeder(config, port, config.tokens === 'notify' ? NOTIFY_CLIENTS : Math.ceil(rate * 1.5 * seconds))
  return autocannon({
    url: `http://127.0.0.1:${port}${route.path}`,
    method: route.method,
    connections,
    duration: seconds,
    maxOverallRequests: rate * 4 * seconds,
    setupClient: feeder.setupClient
  })
}
