// What a script may leave behind, for "nothing is left" assertions: files in its TMPDIR,
// containers. Run the script with TMPDIR set to scriptTmpDir(): it starts empty, so
// anything in it afterwards is the script's.
import fs from 'node:fs'
import { docker } from './docker.mts'
import { tempDir } from './repo.mts'

/** A fresh, empty directory to hand a script as TMPDIR. */
export function scriptTmpDir(): string {
  return tempDir('cbs-script-tmp-')
}

/**
 * What is left in a script's TMPDIR. The TypeScript loader's compile cache (`tsx-<uid>`,
 * made by `npx zx` on Node 20 before the script runs) is not the script's and is ignored.
 */
export function leftInTmp(dir: string): string[] {
  return fs.readdirSync(dir).filter((name) => !/^tsx-\d+$/.test(name))
}

/** Containers, running or not, matching a `docker ps` filter (`label=k=v`, `ancestor=image`): `id command status` lines. */
export function containers(...filters: string[]): string[] {
  const args = ['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Command}} {{.Status}}', ...filters.flatMap((f) => ['--filter', f])]
  return docker(...args).split('\n').filter(Boolean)
}

/** Containers whose command line contains `marker` (a build step's container carries no label, but its RUN line does). */
export function containersRunning(marker: string): string[] {
  return containers().filter((line) => line.includes(marker))
}

/** Command lines of processes still running that contain `text` (a temp dir, an image ref): what a script left running. */
export function processesMentioning(text: string): string[] {
  const found: string[] = []
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()
      if (cmdline.includes(text) && Number(pid) !== process.pid) found.push(`${pid}: ${cmdline}`)
    } catch {
      // ended meanwhile
    }
  }
  return found
}
