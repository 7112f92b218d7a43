// The client's messages name the option that is wrong as a library caller gives it (claimFormat, privateKey); on the
// command line the same mistake is a flag's, and the message should name the flag to fix.
const FLAGS: Record<string, string> = {
  'credentials.kid': '--kid',
  'credentials.serviceId': '--service-id',
  claimFormat: '--claim-format',
  privateKey: '--private-key',
  publicKey: '--public-key',
  audience: '--audience',
  scope: '--scope',
  method: '--method',
  url: '--url'
}

/** Only the name a message starts with: further on, an option's name is part of a sentence about the server. */
const LEADING_NAME = new RegExp(`^(?:${Object.keys(FLAGS).map(name => name.replace('.', '\\.')).join('|')})\\b`)

/** `message` with the option it starts with named as its flag. */
export function inFlagTerms (message: string): string {
  return message.replace(LEADING_NAME, name => FLAGS[name] as string)
}
