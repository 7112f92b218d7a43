// The request-target a `req` claim is compared with: the raw request line's target (`request.raw.url`), never the
// router's decoded params or a `new URL()` (which resolves `/a/%2e%2e/b` to `/b` and reads `//evil/x` as a host).
// A target that different layers could read differently is refused on bound routes, not normalised into a match.
// (A raw NUL or other control character never gets this far: Node's HTTP parser refuses it; `%00` is caught here.)

/** Why `url` (a raw request-target) is ambiguous, or `undefined` when it is a plain origin-form path. */
export function ambiguityOf (url: string): string | undefined {
  if (url.charCodeAt(0) !== 0x2f) return 'it is not a path starting with "/"'
  const queryAt = url.indexOf('?')
  const path = queryAt === -1 ? url : url.slice(0, queryAt)
  if (path.includes('//')) return 'it contains "//"'
  if (path.includes('\\')) return 'it contains a backslash'
  if (/(?:^|\/)\.\.?(?:\/|$)/.test(path)) return 'it contains a "." or ".." segment'
  if (/%(?![0-9A-Fa-f]{2})/.test(url)) return 'it contains a "%" that is not a valid escape'
  if (/%(?:2[EeFf]|5[Cc]|00)/.test(path)) return 'it contains an encoded ".", "/", "\\" or NUL'
  return undefined
}

/** `path` without its query string. */
export function withoutQuery (target: string): string {
  const queryAt = target.indexOf('?')
  return queryAt === -1 ? target : target.slice(0, queryAt)
}
