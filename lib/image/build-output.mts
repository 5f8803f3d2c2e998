// What a `docker build` printed, read back: which steps the builder took from its cache,
// and which step failed with which lines. The same answers from BuildKit's plain
// progress (`#7 [2/3] RUN ...`, `#7 CACHED`, `#7 ERROR: ...`) and from the legacy
// builder (`Step 2/3 : RUN ...`, ` ---> Using cache`, `The command ... returned a
// non-zero code: 3`), so the logs say the same thing whichever builder ran.

export interface BuildStep {
  /** The instruction as the builder printed it: `RUN apt-get update ...`. */
  instruction: string
  cached: boolean
  /** Its output lines (BuildKit's `#N 0.123 ` prefix taken off). */
  lines: string[]
  /** The exit code when this step failed, else undefined. */
  exitCode?: number
  failed: boolean
}

// The steps worth reporting: those that do work (FROM and metadata are not reused work).
const WORK = /^(RUN|COPY|ADD)\b/i

/** The build's steps in order, from BuildKit's or the legacy builder's output. */
export function buildSteps(output: string): BuildStep[] {
  const lines = output.split(/\r?\n/)
  if (lines.some((l) => /^Step \d+\/\d+ : /.test(l))) return legacySteps(lines)
  const byVertex = new Map<string, BuildStep>()
  const order: BuildStep[] = []
  for (const line of lines) {
    const header = /^#(\d+) \[(?:[^\]\s]+ )?\d+\/\d+\] (.*)$/.exec(line)
    if (header) {
      if (!byVertex.has(header[1])) {
        const s: BuildStep = { instruction: header[2].trim(), cached: false, lines: [], failed: false }
        byVertex.set(header[1], s)
        order.push(s)
      }
      continue
    }
    const m = /^#(\d+) (.*)$/.exec(line)
    const s = m && byVertex.get(m[1])
    if (!s) continue
    const text = m[2]
    if (text === 'CACHED') s.cached = true
    else if (/^ERROR: /.test(text)) {
      s.failed = true
      const code = /exit code: (\d+)/.exec(text)
      if (code) s.exitCode = Number(code[1])
    } else if (!/^DONE [\d.]+s$/.test(text) && text !== 'CANCELED') s.lines.push(text.replace(/^\d+\.\d+ /, ''))
  }
  return order.filter((s) => WORK.test(s.instruction))
}

function legacySteps(lines: string[]): BuildStep[] {
  const steps: BuildStep[] = []
  let current: BuildStep | undefined
  for (const line of lines) {
    const header = /^Step \d+\/\d+ : (.*)$/.exec(line)
    if (header) {
      current = { instruction: header[1].trim(), cached: false, lines: [], failed: false }
      steps.push(current)
      continue
    }
    if (!current) continue
    if (/^ ---> Using cache$/.test(line)) current.cached = true
    else if (/^ ---> /.test(line) || /^Removing intermediate container /.test(line)) continue
    else {
      const failed = /^The command .* returned a non-zero code: (\d+)$/.exec(line)
      if (failed) {
        current.failed = true
        current.exitCode = Number(failed[1])
      } else if (line.trim()) current.lines.push(line)
    }
  }
  return steps.filter((s) => WORK.test(s.instruction))
}

/**
 * What the builder reused, for the build's ✓ line: `2 of 3 steps from cache`, or
 * undefined when it reused nothing (then a "cache from" would only mislead).
 */
export function describeReuse(output: string): string | undefined {
  const steps = buildSteps(output)
  const cached = steps.filter((s) => s.cached).length
  if (!cached) return undefined
  return cached === steps.length ? `all ${cached} steps from cache` : `${cached} of ${steps.length} steps from cache`
}

/** The step that failed, with its last `n` lines of output. */
export function failedStep(output: string, n = 20): BuildStep | undefined {
  const s = buildSteps(output).find((step) => step.failed)
  return s && { ...s, lines: s.lines.slice(-n) }
}
