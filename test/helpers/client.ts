// Shared by the client tests: catching the client's own errors, and a live service with a route per scope and format.
import type { AddressInfo } from 'node:net'
import { RequestJwtClientError } from '../../lib/client/index.js'
import { buildApp, type TestApp, type TestAppOptions } from './app.js'

/** The RequestJwtClientError `fn` throws or rejects with; anything else fails the test. */
export async function refusal (fn: () => unknown): Promise<RequestJwtClientError> {
  try {
    await fn()
  } catch (err) {
    if (err instanceof RequestJwtClientError) return err
    throw err
  }
  throw new Error('no error was thrown')
}

export const SCOPES = ['none', 'path', 'body', 'path+body'] as const
export const FORMATS = ['standard', 'notify-2016'] as const
export const METHODS = ['GET', 'DELETE', 'POST', 'PUT', 'PATCH'] as const

/**
 * A service listening on loopback with a catch-all route `/<claimFormat>/<scope>/*` for every claim format and
 * scope, any method and any body; each answers with what the token was bound to.
 */
export async function scopedService (options: Omit<TestAppOptions, 'routes'> = {}): Promise<TestApp & { base: string }> {
  const context = await buildApp({
    ...options,
    routes: app => {
      app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
      for (const claimFormat of FORMATS) {
        for (const scope of SCOPES) {
          app.route({
            method: [...METHODS],
            url: `/${claimFormat}/${scope}/*`,
            config: { requestJwt: { scope, claimFormat } },
            handler: async request => ({ boundTo: request.requestJwt?.boundTo })
          })
        }
      }
    }
  })
  await context.app.listen({ port: 0, host: '127.0.0.1' })
  return { ...context, base: `http://127.0.0.1:${(context.app.server.address() as AddressInfo).port}` }
}
