// The numbers an operator watches before switching a route from report to enforce: decisions counted by route,
// issuer, outcome and reason. Issuers are counted only once verified, so forged `iss` values cannot grow the table.

/** One row of `app.requestJwt.stats()`: how many requests got this outcome, for this reason, on this route, from this issuer. */
export interface DecisionCount {
  /** `"METHOD /url"` as registered; `"(not found)"` for requests that matched no route. */
  route: string
  /** The verified issuer; `null` when the token did not verify far enough to trust its `iss`. */
  issuer: string | null
  /** `accepted`: every check passed. `reported`: a check failed in report mode and the request went on. `rejected`: refused. */
  outcome: 'accepted' | 'reported' | 'rejected'
  /** `'ok'` for accepted requests, else the error code of the (first) failed check. */
  reason: string
  count: number
}

type Outcome = DecisionCount['outcome']
type ByReason = Map<string, number>

export class DecisionStats {
  /** route -> issuer -> outcome -> reason -> count */
  readonly #counts = new Map<string, Map<string | null, Map<Outcome, ByReason>>>()

  record (route: string, issuer: string | null, outcome: Outcome, reason: string): void {
    // Every request is counted: each level is looked up and made in place, with no closure made per call.
    let byIssuer = this.#counts.get(route)
    if (byIssuer === undefined) this.#counts.set(route, byIssuer = new Map())
    let byOutcome = byIssuer.get(issuer)
    if (byOutcome === undefined) byIssuer.set(issuer, byOutcome = new Map())
    let byReason = byOutcome.get(outcome)
    if (byReason === undefined) byOutcome.set(outcome, byReason = new Map())
    byReason.set(reason, (byReason.get(reason) ?? 0) + 1)
  }

  /** Every count so far, one row per route, issuer, outcome and reason. */
  rows (): DecisionCount[] {
    const rows: DecisionCount[] = []
    for (const [route, byIssuer] of this.#counts) {
      for (const [issuer, byOutcome] of byIssuer) {
        for (const [outcome, byReason] of byOutcome) {
          for (const [reason, count] of byReason) rows.push({ route, issuer, outcome, reason, count })
        }
      }
    }
    return rows
  }
}
