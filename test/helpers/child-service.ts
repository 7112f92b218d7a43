// A service instance in a child process, for the tests that need several processes (replay across instances, a
// Redis Cluster, a fleet): forked with the loader tap gave this process, so the child runs the TypeScript sources and
// reports coverage; its log lines (JSON on stdout) are kept for the test to search; it is killed at teardown.
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import type { Test } from 'tap'

export interface ChildService {
  child: ChildProcess
  port: number
  /** The child's stdout, line by line. */
  logs: string[]
}

/**
 * Starts `script` with `env` added to this process's environment and waits until it sends its port over IPC.
 * `beforeListening` runs once the child is up, for a child that waits to be told something (a cluster's nodes).
 */
export async function startChildService (t: Test, script: string, env: Record<string, string>,
  beforeListening?: (child: ChildProcess) => Promise<void>): Promise<ChildService> {
  const child = fork(script, [], { execArgv: process.execArgv, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
  const logs: string[] = []
  let partial = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n')
    partial = lines.pop() as string
    logs.push(...lines.filter(Boolean))
  })
  const exited = once(child, 'exit')
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  const listening = once(child, 'message') as Promise<[{ port: number }]>
  await beforeListening?.(child)
  const [message] = await listening
  return { child, port: message.port, logs }
}

/** Sends `message` to the child and resolves to its answer. */
export async function ask<T> (child: ChildProcess, message: unknown): Promise<T> {
  const reply = once(child, 'message')
  child.send(message as string)
  return (await reply)[0] as T
}
