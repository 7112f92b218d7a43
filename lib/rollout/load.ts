// Where the rollout document comes from at registration: the `rollout` option, a JSON file it names, or the file
// named by REQUEST_JWT_ROLLOUT.
import { readFileSync } from 'node:fs'
import { InvalidOptionError } from '../errors/codes.js'
import type { RolloutDocument } from './document.js'
import { checkRolloutDocument } from './schema.js'

/** The environment variable naming a rollout file when the `rollout` option is not given. */
export const ROLLOUT_ENV = 'REQUEST_JWT_ROLLOUT'

/** The rollout document named by the `rollout` option, or else by the REQUEST_JWT_ROLLOUT environment variable. */
export function loadRolloutDocument (option: RolloutDocument | string | undefined, env: NodeJS.ProcessEnv): RolloutDocument {
  const source = option ?? env[ROLLOUT_ENV]
  if (source === undefined || source === '') return {}
  if (typeof source !== 'string') return checkRolloutDocument(source, 'rollout')
  const where = option === undefined ? `rollout file ${source} (from ${ROLLOUT_ENV})` : `rollout file ${source}`
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(source, 'utf8'))
  } catch (err) {
    throw new InvalidOptionError(`${where} could not be read as JSON: ${(err as Error).message}`)
  }
  return checkRolloutDocument(parsed, where)
}
