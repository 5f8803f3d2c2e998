// Cleanup on every exit path. Work that leaves something behind (a container, a temp
// dir, a half-finished cherry-pick) registers how to undo it; SIGINT and SIGTERM run
// the undo steps, newest first, then exit 130 / 143 as a shell would.
import { failure, redact } from './log.mts'

const cleanups: Array<() => Promise<void> | void> = []
let signalled = false
let signalHandlersInstalled = false

async function runCleanups(): Promise<void> {
  while (cleanups.length) {
    try {
      await cleanups.pop()!()
    } catch (error) {
      process.stderr.write(`cleanup failed: ${redact(String(error))}\n`)
    }
  }
}

function onSignal(signal: 'SIGINT' | 'SIGTERM'): void {
  if (signalled) return
  signalled = true
  failure(`Interrupted (${signal}); cleaning up`)
  void runCleanups().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143))
}

/**
 * Register an undo step for an interrupt. Returns `done`, to call once the work
 * finished normally (it runs the undo step now, in order, and unregisters it).
 */
export function onInterrupt(undo: () => Promise<void> | void): () => Promise<void> {
  if (!signalHandlersInstalled) {
    process.on('SIGINT', () => onSignal('SIGINT'))
    process.on('SIGTERM', () => onSignal('SIGTERM'))
    signalHandlersInstalled = true
  }
  cleanups.push(undo)
  return async () => {
    const i = cleanups.indexOf(undo)
    if (i >= 0) {
      cleanups.splice(i, 1)
      await undo()
    }
  }
}

/** True once SIGINT/SIGTERM arrived: long loops check it to stop early. */
export function interrupted(): boolean {
  return signalled
}
