// `app.requestJwt` exists only in the context that registered the plugin and in its children (fastify-plugin
// decorates the registering context); TypeScript cannot tell contexts apart, so the decorators are typed optional and
// this accessor gives the checked, typed value, or an error that says where the plugin is.
import type { FastifyInstance } from 'fastify'
import type { RequestJwtApi } from './plugin.js'

/** The plugin's operator API of `app`'s context; throws a clear error when the plugin is not registered there. */
export function requestJwtApi (app: FastifyInstance): RequestJwtApi {
  if (!app.hasDecorator('requestJwt')) {
    throw new Error('fastify-request-jwt: app.requestJwt is not available on this instance: the plugin decorates the ' +
      'context that registers it and that context\'s children only. Call requestJwtApi(app) with an instance inside ' +
      'that context (for a plugin registered under a prefix, the app passed to that prefix\'s plugin), or register ' +
      'the plugin at the root.')
  }
  return app.requestJwt as RequestJwtApi
}
