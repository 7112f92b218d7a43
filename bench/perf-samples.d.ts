// Types of bench/perf-samples.js, for the test that checks it (test/bench-perf.test.ts).

export class SampleTally {
  constructor (isOwn: (location: string) => boolean)
  samples: number
  ownSamples: number
  kernelSamples: number
  sharedByFunction: Map<string, number>
  ownByFunction: Map<string, number>
  addLine (line: string): void
  finish (): this
}

export interface PerRequest {
  total: number
  own: number
  shared: number
  kernel: number
  ownByFunction: Map<string, number>
  sharedByFunction: Map<string, number>
}

export function perRequest (tally: SampleTally, counts: { frequency: number, requests: number }): PerRequest
export function largest (map: Map<string, number>, top: number): Array<[string, number]>
export function grownMost (base: PerRequest, other: PerRequest, top: number): Array<[string, number]>
