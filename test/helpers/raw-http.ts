// Raw HTTP/1.1 over a socket: the request line goes out exactly as written (app.inject and fetch normalise paths
// like /a/../b, which is what the ambiguity tests must not have happen).
import { connect } from 'node:net'

export interface RawResponse {
  status: number
  headers: string
  body: string
}

/** Sends `head`, then `body` once `beforeBody` (if given) has resolved: a client that holds its body back. */
export function sendRaw (port: number, head: string, body: Buffer | string = '', beforeBody?: () => Promise<void>): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', chunk => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      const [headers = '', rest = ''] = text.split('\r\n\r\n')
      resolve({ status: Number(headers.split(' ')[1]), headers, body: rest })
    })
    socket.write(`${head.replace(/\n/g, '\r\n')}\r\nconnection: close\r\n\r\n`)
    // Written, not ended: a client that half-closes may lose a response the server sends later (an async store),
    // since Node's HTTP server ends its side at the client's FIN. `connection: close` ends the exchange.
    if (beforeBody === undefined) socket.write(body)
    else beforeBody().then(() => socket.write(body), reject)
  })
}
