// Starts the example service on a port, with an admin secret from the environment.
import { buildService } from './app.js'

const app = await buildService({ adminSecret: process.env.ADMIN_SECRET ?? 'change-me-change-me-change-me-change-me', logger: true })
await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
