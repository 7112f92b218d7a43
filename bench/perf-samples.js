// Reads what `perf script -F ip,sym,dso` prints for a server sampled with call chains (bench/perf.js): one frame a
// line, `<address> <symbol> (<object>)`, the innermost first, a blank line after each sample. Each sample is put to
// one of two owners by the innermost JavaScript frame outside Node's own modules: the configuration's own code when
// that frame is in it (so what it asks of Node, a builtin or a native call, counts as its own: `crypto.createHmac`,
// `performance.now`), else Node's and Fastify's, which bare Fastify runs too (a sample with no such frame, the HTTP
// parser called from the event loop say, is theirs). And to the function it was in (the innermost frame), so that two
// servers can be compared function by function.
//
// What perf cannot tell apart: V8 inlines small functions into their callers, and a sample in inlined code is its
// caller's. A hook that Fastify's hook runner inlined counts as Fastify's, and shows among the functions that grew.

const FRAME = /^\s*[0-9a-f]+\s+(.*?)\s+\(([^()]*)\)\s*$/
const KERNEL = '[kernel.kallsyms]'

/**
 * A server's samples, tallied as they are read. `isOwn(location)` says whether a JavaScript frame's location
 * (`file:///.../dist/x.js:3:10`, `node:events:471:12`) is the configuration's own code.
 */
export class SampleTally {
  #frames = []
  samples = 0
  ownSamples = 0
  kernelSamples = 0
  /** Samples by the innermost frame's function, not counting the configuration's own code. */
  sharedByFunction = new Map()
  /** Samples of the configuration's own code, by its innermost JavaScript function. */
  ownByFunction = new Map()

  constructor (isOwn) {
    this.isOwn = isOwn
  }

  /** One line of `perf script`'s output. */
  addLine (line) {
    if (line.trim() === '') {
      this.#endSample()
      return
    }
    const frame = FRAME.exec(line)
    if (frame !== null) this.#frames.push({ symbol: frame[1], object: frame[2] })
  }

  /** Counts the sample being read, if its blank line never came (the end of the output). */
  finish () {
    this.#endSample()
    return this
  }

  #endSample () {
    const frames = this.#frames
    if (frames.length === 0) return
    this.#frames = []
    this.samples++
    const leaf = frames[0]
    if (leaf.object === KERNEL) this.kernelSamples++
    // `JS:*verify file:///.../verifier.js:36:11`: the location is the last word (perf-basic-prof's map). A regular
    // expression's code (`RegExp:...`) names no file, and Node's modules (`node:...`) run for whoever called them:
    // the frame that called them decides.
    const js = frames.find(frame => frame.symbol.startsWith('JS:') && !locationOf(frame.symbol).startsWith('node:'))
    if (js !== undefined && this.isOwn(locationOf(js.symbol))) {
      this.ownSamples++
      add(this.ownByFunction, describeJs(js.symbol))
    } else {
      add(this.sharedByFunction, leaf.symbol.startsWith('JS:') ? describeJs(leaf.symbol) : leaf.symbol)
    }
  }
}

/**
 * The tally as server CPU a request, in µs: samples were taken `frequency` times a second of CPU, over `requests`
 * requests.
 */
export function perRequest (tally, { frequency, requests }) {
  const us = (count) => count / frequency * 1e6 / requests
  const byFunction = (map) => new Map([...map].map(([name, count]) => [name, us(count)]))
  return {
    total: us(tally.samples),
    own: us(tally.ownSamples),
    shared: us(tally.samples - tally.ownSamples),
    kernel: us(tally.kernelSamples),
    ownByFunction: byFunction(tally.ownByFunction),
    sharedByFunction: byFunction(tally.sharedByFunction)
  }
}

/** The functions of `map` (name -> µs), the `top` largest first. */
export function largest (map, top) {
  return [...map].sort((a, b) => b[1] - a[1]).slice(0, top)
}

/** The shared functions whose µs a request grew the most from `base` to `other` (perRequest's answers). */
export function grownMost (base, other, top) {
  const grown = new Map()
  for (const [name, us] of other.sharedByFunction) grown.set(name, us - (base.sharedByFunction.get(name) ?? 0))
  return largest(grown, top)
}

function locationOf (symbol) {
  return symbol.slice(symbol.lastIndexOf(' ') + 1)
}

/** `JS:*verify file:///a/b/dist/token/verifier.js:36:11` as `verify (token/verifier.js:36)`. */
function describeJs (symbol) {
  const space = symbol.lastIndexOf(' ')
  const name = symbol.slice(3, space === -1 ? undefined : space).replace(/^[*~^+-]/, '') || '(anonymous)'
  if (space === -1) return name
  const [path, line] = symbol.slice(space + 1).replace(/^file:\/\//, '').split(/:(?=\d)/)
  return `${name} (${path.split('/').slice(-2).join('/')}:${line})`
}

function add (map, key) {
  map.set(key, (map.get(key) ?? 0) + 1)
}
