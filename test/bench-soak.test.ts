// The soak keeps working: `node bench/soak.js --quick` (8 s; the real one is `npm run bench -- --soak`, 60 s) starts
// its own Redis and two instances, restarts Redis in the middle, and reports what held. Nothing here looks at how
// fast anything was; the counts it checks are the soak's own pass conditions.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test } from 'tap'
import { redisServerSkipReason } from './helpers/redis.js'

interface Phase { requests: number, ok: number, other5xx: number, errors: number, replaysAcceptedPredicted: number, replaysAcceptedUnpredicted: number, forgedAccepted: number, forged: number, replayed: number }
interface Report { failures: string[], phases: Phase[], memory: Array<{ heapGrowth: number }> }

const skip = redisServerSkipReason()

test('the quick soak: two instances on a Redis restarted midway, no 5xx but 503, no replay accepted but those the restart forgot', { skip }, async t => {
  const dir = mkdtempSync(join(tmpdir(), 'request-jwt-soak-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const json = join(dir, 'soak.json')
  const { stdout } = await promisify(execFile)(process.execPath, ['bench/soak.js', '--quick', '--json', json], { timeout: 40_000 })
  const report = JSON.parse(readFileSync(json, 'utf8')) as Report
  t.same(report.failures, [], 'the soak held (its exit code was 0 too)')
  t.equal(report.phases.length, 3, 'start, middle (the restart), end')
  const sum = (key: keyof Phase) => report.phases.reduce((total, phase) => total + phase[key], 0)
  t.ok(sum('requests') > 0 && sum('ok') > 0, 'requests were served')
  t.equal(sum('other5xx') + sum('errors'), 0, 'no 5xx but 503, no socket error')
  t.ok(sum('replayed') > 0, 'replays were refused')
  t.ok(sum('forged') > 0 && sum('forgedAccepted') === 0, 'forged tokens were refused, every one')
  t.equal(sum('replaysAcceptedUnpredicted'), 0, 'no replay accepted that the restart does not explain')
  t.ok(sum('replaysAcceptedPredicted') > 0, 'the restart was real: Redis forgot the jtis it held, as the docs say')
  t.equal(report.memory.length, 2, 'memory read for both instances')
  t.match(stdout, /\| phase \| requests \| 200 \|/, 'a Markdown table is printed')
})
