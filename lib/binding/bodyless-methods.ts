// The methods whose body Fastify never reads (it hands their handler none). Where a token or its route binds the body,
// the plugin reads such a body itself, so that `pay` covers every byte a handler could read from the stream
// (binding/unparsed-body.ts); Notify's 2016 Python client sent one (`null`) with every GET.

export const BODYLESS_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'TRACE'])
