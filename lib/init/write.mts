// Writing init's files into a repository that may have some of them already. Nothing
// that exists is overwritten unless asked (--force): it is left as it was, or, for
// CircleCI's single config file, init's jobs are merged into it (or their lines given to
// add by hand). A dry run plans the same and writes nothing.
import { fs, path } from 'zx'
import type { InitFile } from './templates.mts'

export type Outcome =
  /** New, or replaced with --force (`replaced`). */
  | { status: 'written'; file: InitFile; content: string; replaced: boolean }
  /** An existing file with init's entries added; `note` names them. */
  | { status: 'merged'; file: InitFile; content: string; note: string }
  /** An existing file (or one init has no reason to write), untouched; `lines` to add by hand, if any. */
  | { status: 'left'; file: InitFile; note?: string; lines?: string }

/** What happens to each file, in the order given; reads the repository, writes nothing. */
export async function planWrites(root: string, files: InitFile[], force: boolean): Promise<Outcome[]> {
  const outcomes: Outcome[] = []
  for (const file of files) {
    const full = path.join(root, file.path)
    const there = await fs.pathExists(full)
    const companion = file.onlyWith ? outcomes.find((o) => o.file.path === file.onlyWith) : undefined
    if (companion && companion.status !== 'written') {
      if (there) outcomes.push({ status: 'left', file })
      continue // not needed by the project's own file, and not written
    }
    if (!there || (force && !file.keepExisting)) {
      outcomes.push({ status: 'written', file, content: file.content, replaced: there })
      continue
    }
    if (!file.merge) {
      outcomes.push({ status: 'left', file, note: file.whenPresent })
      continue
    }
    const merge = file.merge(await fs.readFile(full, 'utf8'))
    if (merge.kind === 'merged') outcomes.push({ status: 'merged', file, content: merge.content, note: `added ${merge.added.join(', ')}` })
    else if (merge.kind === 'present') outcomes.push({ status: 'left', file, note: 'init\'s jobs are in it already' })
    else outcomes.push({ status: 'left', file, note: `not merged: ${merge.reason}; add these lines yourself`, lines: merge.lines })
  }
  return outcomes
}

/** Write the planned files (written and merged) under `root`, creating directories. */
export async function writePlanned(root: string, outcomes: Outcome[]): Promise<void> {
  for (const outcome of outcomes) {
    if (outcome.status === 'left') continue
    const full = path.join(root, outcome.file.path)
    await fs.mkdirp(path.dirname(full))
    await fs.writeFile(full, outcome.content)
  }
}

/** The summary: one line per file, what happened to it, and the lines to add by hand. */
export function summary(outcomes: Outcome[], dryRun: boolean): string {
  const label = (o: Outcome) =>
    o.status === 'written' ? (o.replaced ? 'overwritten' : 'written') : o.status === 'merged' ? 'merged' : 'left as it was'
  const verb = (o: Outcome) => (dryRun && o.status !== 'left' ? `would be ${label(o)}` : label(o))
  const width = Math.max(...outcomes.map((o) => verb(o).length))
  const lines: string[] = []
  for (const o of outcomes) {
    lines.push(`${verb(o).padEnd(width)}  ${o.file.path}${o.status !== 'written' && o.note ? ` (${o.note})` : ''}`)
    if (o.status === 'left' && o.lines) lines.push(...o.lines.trimEnd().split('\n').map((l) => `${' '.repeat(width + 4)}${l}`))
  }
  return lines.join('\n') + '\n'
}
