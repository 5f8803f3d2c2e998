// What a `docker build` printed, read back, the same under both builders:
//   - a failed build: the failing step as the builder numbers it, why it failed, and that
//     step's last output lines (parseBuildFailure, describeBuildFailure);
//   - a build that worked: which steps the builder took from its cache (describeReuse).
// BuildKit's plain progress: `#7 [2/3] RUN ...`, `#7 CACHED`, a failed build's summary
// block and `ERROR: ...`; the legacy builder's: `Step 2/3 : RUN ...`, ` ---> Using cache`,
// `The command ... returned a non-zero code: 3`.
//
//   docker build failed at step [3/3] RUN make tools: exit code 3
//     <the step's last lines>
//
// BuildKit (plain progress, as it prints when stderr is not a terminal) ends a failed
// build with a summary block and the error:
//   ------
//    > [3/3] RUN make tools:
//   0.363 some output
//   ------
//   ...
//   ERROR: failed to solve: process "/bin/sh -c make tools" did not complete successfully: exit code: 3
// The legacy builder prints each step as it runs, the step's output after it:
//   Step 3/3 : RUN make tools
//    ---> Running in 0123456789ab
//   some output
//   The command '/bin/sh -c make tools' returned a non-zero code: 3

export interface BuildFailure {
  /** The failing step as the builder names it: `[3/3] RUN make tools`, `[builder 2/4] COPY . .`. */
  step?: string
  /** `exit code 3` for a command that failed, else the builder's error line. */
  reason: string
  /** The failing step's last output lines (timestamps removed). */
  lines: string[]
}

/** Longer step texts (a RUN with a long script) are cut in the message, not in the log. */
const MAX_STEP = 200

const clip = (text: string) => (text.length > MAX_STEP ? `${text.slice(0, MAX_STEP - 3)}...` : text)

export interface ParseOptions {
  /** How many of the failing step's output lines to keep. Default 5. */
  lastLines?: number
  /**
   * Steps the legacy builder appends to the Dockerfile's own: one per `--label`. Its
   * `Step 3/7` is then reported as BuildKit numbers it, `[3/3]`.
   */
  appendedSteps?: number
}

/** The failure in a failed build's combined output; undefined when it holds none we know. */
export function parseBuildFailure(output: string, options: ParseOptions = {}): BuildFailure | undefined {
  const text = output.replace(/\r\n?/g, '\n')
  const lastLines = options.lastLines ?? 5
  return buildkitFailure(text, lastLines) ?? legacyFailure(text, lastLines, options.appendedSteps ?? 0)
}

function buildkitFailure(text: string, lastLines: number): BuildFailure | undefined {
  const error = [...text.matchAll(/^ERROR: (?:failed to solve: )?(.+)$/gm)].pop()?.[1]
  if (!error) return undefined
  // The summary block of the failing step: ` > [3/3] RUN ...:` then its last lines.
  const block = /^------\n > (.+):\n((?:.*\n)*?)------$/m.exec(text)
  let step = block?.[1]
  let lines = block ? block[2].split('\n').filter(Boolean).map((l) => l.replace(/^\d+\.\d+ /, '')) : []
  if (!step) {
    // No summary (an older buildx): the last vertex that reported an error.
    const vertex = /^#(\d+) ERROR: /m.exec(text)?.[1]
    step = vertex ? new RegExp(`^#${vertex} (\\[[^\\]]+\\] .+)$`, 'm').exec(text)?.[1] : undefined
    if (vertex) lines = [...text.matchAll(new RegExp(`^#${vertex} \\d+\\.\\d+ (.*)$`, 'gm'))].map((m) => m[1])
  }
  const code = /did not complete successfully: exit code: (\d+)/.exec(error)?.[1]
  return { step: step ? clip(step) : undefined, reason: code ? `exit code ${code}` : error, lines: lines.slice(-lastLines) }
}

function legacyFailure(text: string, lastLines: number, appendedSteps: number): BuildFailure | undefined {
  const steps = [...text.matchAll(/^Step (\d+)\/(\d+) : (.*)$/gm)]
  const last = steps.pop()
  if (!last) return undefined
  const [n, total] = [Number(last[1]), Number(last[2])]
  const own = total - appendedSteps >= n ? total - appendedSteps : total
  const after = text.slice(last.index! + last[0].length + 1).split('\n')
  const code = /^The command .* returned a non-zero code: (\d+)$/m.exec(text)?.[1]
  // Its output: the lines after `---> Running in <id>`, up to the builder's verdict.
  const verdict = after.findIndex((l) => /^The command .* returned a non-zero code: \d+$/.test(l))
  const lines = (verdict >= 0 ? after.slice(0, verdict) : [])
    .filter((l) => l && !/^ ---> /.test(l))
  // A step that is not a command (COPY of a missing file): the builder's error line.
  const error = code ? `exit code ${code}` : after.filter((l) => l.trim() && !/^ ---> /.test(l)).pop()
  if (!error) return undefined
  return { step: clip(`[${n}/${own}] ${last[3]}`), reason: error, lines: lines.slice(-lastLines) }
}

/** `docker build failed at step [3/3] RUN ...: exit code 3` and the step's last lines, indented. */
export function describeBuildFailure(failure: BuildFailure): string {
  const head = `docker build failed${failure.step ? ` at step ${failure.step}` : ''}: ${failure.reason}`
  return [head, ...failure.lines.map((l) => `  ${l}`)].join('\n')
}

// --- what the builder reused ---

export interface BuildStep {
  /** The instruction as the builder printed it: `RUN apt-get update ...`. */
  instruction: string
  /** The builder took it from its cache (BuildKit's `CACHED`, the legacy ` ---> Using cache`). */
  cached: boolean
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
        const s: BuildStep = { instruction: header[2].trim(), cached: false }
        byVertex.set(header[1], s)
        order.push(s)
      }
      continue
    }
    const m = /^#(\d+) CACHED$/.exec(line)
    const s = m && byVertex.get(m[1])
    if (s) s.cached = true
  }
  return order.filter((s) => WORK.test(s.instruction))
}

function legacySteps(lines: string[]): BuildStep[] {
  const steps: BuildStep[] = []
  let current: BuildStep | undefined
  for (const line of lines) {
    const header = /^Step \d+\/\d+ : (.*)$/.exec(line)
    if (header) {
      current = { instruction: header[1].trim(), cached: false }
      steps.push(current)
    } else if (current && /^ ---> Using cache$/.test(line)) current.cached = true
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

/**
 * Whether a BuildKit build failed only at its end, where it names its image, with a blob
 * `not found`: the containerd image store (seen on Engine 26.1) now and then loses a blob
 * it has just written there, with every step done. The same build again takes its steps
 * from the build cache and succeeds; a step's own failure is never this.
 */
export function failedAtExport(output: string): boolean {
  const exporting = /^#(\d+) exporting to image$/m.exec(output)?.[1]
  if (!exporting) return false
  // A cache ref that cannot be read is an ERROR of its own vertex that BuildKit goes on
  // from; any other vertex's error is the build's.
  const importing = new Set([...output.matchAll(/^#(\d+) importing cache manifest from /gm)].map((m) => m[1]))
  const erred = [...output.matchAll(/^#(\d+) ERROR: (.*)$/gm)].filter(([, n]) => !importing.has(n))
  if (erred.some(([, n]) => n !== exporting)) return false
  const message = erred.find(([, n]) => n === exporting)?.[2] ?? /^ERROR: failed to solve: (.*)$/m.exec(output)?.[1] ?? ''
  return /\bnot found\b/.test(message)
}
