// The server's defaults that a client mirrors: it refuses to make, or explains as refused, what the server would
// refuse with its options left as they are.

/** `clockSkew`: seconds `iat` may be from the server's time, either way. */
export const DEFAULT_CLOCK_SKEW_SECONDS = 30

/** `maxTokenLength`: the longest token read, in characters. */
export const DEFAULT_MAX_TOKEN_LENGTH = 8192
