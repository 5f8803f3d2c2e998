// Retries with backoff: the one policy for every call over the network (registry HTTP,
// docker pull and push, the GitHub API), its settings and its log line.
//   - exponential backoff: base, 2x base, 4x base ...; a server's Retry-After wins (capped);
//   - an interrupt (SIGINT/SIGTERM) starts no new attempt;
//   - each wait is logged as `<what>: <error>; retry <n> in <s>s`.
import { interrupted } from './interrupts.mts'
import { seconds, warn } from './log.mts'

export interface RetryOptions {
  /** Retries after the first attempt (so `retries: 3` means up to 4 attempts). Default 3. */
  retries?: number
  /** The first delay; each retry doubles it. Default 1000 ms. */
  baseDelayMs?: number
  /** Whether an error is worth another attempt. Default: every error. */
  isRetryable?: (error: unknown) => boolean
  /** What is being tried, for the retry log line (`GitHub API GET /repos/...`). */
  what?: string
  /** Called before each wait instead of the standard log line. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void
}

/** The longest wait a `Retry-After` can impose on us; longer ones are capped. */
export const MAX_RETRY_AFTER_MS = 60_000

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Registry, pull and push retries from the env: REGISTRY_RETRIES (default 3) after the
 * first attempt, starting at REGISTRY_RETRY_DELAY_MS (default 1000) and doubling.
 */
export function retrySettings(env: NodeJS.ProcessEnv = process.env): { retries: number; baseDelayMs: number } {
  const number = (value: string | undefined, fallback: number) => {
    const n = Number(value)
    return value !== undefined && value.trim() !== '' && Number.isFinite(n) && n >= 0 ? n : fallback
  }
  return { retries: number(env.REGISTRY_RETRIES, 3), baseDelayMs: number(env.REGISTRY_RETRY_DELAY_MS, 1000) }
}

/** The one retry log line. */
export function logRetry(error: unknown, attempt: number, delayMs: number, what?: string): void {
  const message = error instanceof Error ? error.message : String(error)
  warn(`${what ? `${what}: ` : ''}${message}; retry ${attempt} in ${seconds(delayMs)}`)
}

/**
 * Run `fn`, retrying retryable failures with exponential backoff (base, 2x base, 4x ...).
 * An error carrying `retryAfterMs` (a server's Retry-After) waits that long instead.
 * When retries run out, the last error is thrown.
 */
export async function withRetries<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { retries = 3, baseDelayMs = 1000, isRetryable = () => true, onRetry, what } = options
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt)
    } catch (error) {
      // Interrupted (SIGINT/SIGTERM): the undo steps are running; start nothing new.
      if (attempt >= retries || !isRetryable(error) || interrupted()) throw error
      const hinted = (error as { retryAfterMs?: number } | null)?.retryAfterMs
      const delay = typeof hinted === 'number' ? Math.min(hinted, MAX_RETRY_AFTER_MS) : baseDelayMs * 2 ** attempt
      if (onRetry) onRetry(error, attempt + 1, delay)
      else logRetry(error, attempt + 1, delay, what)
      await sleep(delay)
    }
  }
}

/** `Retry-After` in ms: delta-seconds or an HTTP date. Undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}
