// How bench/profile.js and bench/perf.js load a server of bench/server.js they started, as bench/run.js does. Kept out
// of bench/common.js, which the servers import: they must not load autocannon.
import autocannon from 'autocannon'
import { NOTIFY_CLIENTS, requestFeeder, ROUTES } from './common.js'

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
