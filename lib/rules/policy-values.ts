// The words of a binding policy, as route config, the rollout document, the client helpers and the CLI spell them.

/** What a token must be bound to: nothing, the method and request-target (`req`), the body (`pay`), or both. */
export type Scope = 'none' | 'path' | 'body' | 'path+body'
/** `enforce`: a missing binding is refused. `report`: it is logged and counted, and the request goes on. */
export type Mode = 'enforce' | 'report'
/** How `req` and `pay` are made: plain values and SHA-256 (`standard`), or Notify's 2016 HMACs (`notify-2016`). */
export type ClaimFormat = 'standard' | 'notify-2016'

/** What a token must be signed with: any key of the service (`any`), or one of its key pairs (`key-pair`: EdDSA, ES256). */
export type Signing = 'any' | 'key-pair'

export const SIGNINGS: readonly Signing[] = ['any', 'key-pair']
export const SCOPES: readonly Scope[] = ['none', 'path', 'body', 'path+body']
export const MODES: readonly Mode[] = ['enforce', 'report']
export const CLAIM_FORMATS: readonly ClaimFormat[] = ['standard', 'notify-2016']
