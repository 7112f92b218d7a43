// Where the rollout document comes from at registration: the `rollout` option, or the JSON file it names. Nothing is
// read from the environment: as with the Fastify organisation's plugins, every input is an option the app passes
// (`rollout: process.env.REQUEST_JWT_ROLLOUT`, say), so two instances of the plugin never share a hidden one.
import { readFileSync } from 'node:fs'
import { InvalidOptionError } from '../errors/codes.js'
import type { RolloutDocument } from './document.js'
import { checkRolloutDocument } from './schema.js'

/** The rollout document the `rollout` option gives or names (`{}` when none). */
export function loadRolloutDocument (option: RolloutDocument | string | undefined): RolloutDocument {
  if (option === undefined || option === '') return {}
  if (typeof option !== 'string') return checkRolloutDocument(option, 'rollout')
  const where = `rollout file ${option}`
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(option, 'utf8'))
  } catch (err) {
    throw new InvalidOptionError(`${where} could not be read as JSON: ${(err as Error).message}`)
  }
  return checkRolloutDocument(parsed, where)
}
