// The port a server of bench/server.js listens on: it prints `listening <port>` once it can take requests. Shared by
// the tools that start one (bench/profile.js, bench/perf.js, bench/soak.js); bench/run.js waits its own way, with a
// timeout and the server's last lines of stderr in the report.
/** Resolves with the port once `server` (a child process, stdout piped) prints it; rejects if it exits first. */
export function listeningPort (server) {
  return new Promise((resolve, reject) => {
    let stdout = ''
    const printed = (chunk) => {
      stdout += chunk
      const match = /listening (\d+)/.exec(stdout)
      if (match === null) return
      server.stdout.off('data', printed)
      server.off('exit', exited)
      resolve(Number(match[1]))
    }
    const exited = (code, signal) => reject(new Error(`the server exited (${code ?? signal}) before listening`))
    server.stdout.on('data', printed)
    server.once('exit', exited)
  })
}
