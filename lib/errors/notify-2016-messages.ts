// The wording of GOV.UK Notify's API of 2016, for errorFormat 'notify-2016'. It told a client only which part of its
// token failed: the header, the signature, the time, the request (`req`) or the payload (`pay`).

export const NOTIFY_2016 = {
  noToken: 'Unauthorized, authentication token must be provided',
  bearer: 'Unauthorized, authentication bearer scheme must be used',
  signature: 'Invalid token: signature',
  expired: 'Invalid token: expired',
  request: 'Invalid token: request',
  payload: 'Invalid token: payload'
} as const
