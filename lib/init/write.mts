// Writing init's files: nothing is overwritten unless asked (--force), and a dry run
// writes nothing at all.
import { fs, path } from 'zx'
import { UsageError } from '../core/cli.mts'
import type { InitFile } from './templates.mts'

export interface WritePlan {
  /** Files to write (new, or replaced with --force). */
  write: InitFile[]
  /** Files that exist and stay as they are (keepExisting ones). */
  kept: InitFile[]
}

/**
 * Which files get written. An existing file is a usage error naming every one of them,
 * unless `force`; files marked keepExisting are kept, silently, whatever `force` says.
 */
export async function planWrites(root: string, files: InitFile[], force: boolean): Promise<WritePlan> {
  const plan: WritePlan = { write: [], kept: [] }
  const existing: string[] = []
  for (const file of files) {
    const there = await fs.pathExists(path.join(root, file.path))
    if (there && file.keepExisting) plan.kept.push(file)
    else {
      if (there) existing.push(file.path)
      plan.write.push(file)
    }
  }
  if (existing.length && !force) {
    throw new UsageError(`${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}: nothing written (pass --force to overwrite, --dry-run to see the files)`)
  }
  return plan
}

/** Write the planned files under `root`, creating directories. */
export async function writePlanned(root: string, plan: WritePlan): Promise<void> {
  for (const file of plan.write) {
    const full = path.join(root, file.path)
    await fs.mkdirp(path.dirname(full))
    await fs.writeFile(full, file.content)
  }
}
