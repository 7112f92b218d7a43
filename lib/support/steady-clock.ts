// A cache entry's age is the clock's reading less the one it was stored at, and lru-cache counts a negative age as
// fresh: a wall clock stepped back a minute (an NTP step, a VM resumed) would keep an issuer's keys a minute longer,
// and a key revoked meanwhile would go on working. Caches read this clock instead, which never goes back.

/** `now`, never going back: after a step back it goes on from its last reading, at `now`'s pace. */
export function steadyClock (now: () => number): () => number {
  let last = -Infinity
  let offset = 0
  return () => {
    const reading = now() + offset
    if (reading < last) {
      offset += last - reading
      return last
    }
    last = reading
    return reading
  }
}
