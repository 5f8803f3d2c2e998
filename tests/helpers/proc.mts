// Watch the process tree under a pid through /proc (Linux): every command line any
// descendant had while the watch ran. For "a secret never reaches argv" assertions.
import fs from 'node:fs'

export interface ProcessWatch {
  /** Stop sampling; every distinct command line seen (arguments joined by spaces). */
  stop(): string[]
}

/** The parent pid of every process, from /proc/<pid>/stat. */
function parents(): Map<number, number> {
  const map = new Map<number, number>()
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8')
      // `pid (comm) state ppid ...`: comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      map.set(Number(entry), ppid)
    } catch {
      // the process ended meanwhile
    }
  }
  return map
}

/** Sample `rootPid` and its descendants every `intervalMs` until stop(). */
export function watchDescendants(rootPid: number, intervalMs = 20): ProcessWatch {
  const seen = new Set<string>()
  const sample = () => {
    const ppids = parents()
    const tree = new Set([rootPid])
    // Parents may have higher pids than children (pid reuse): iterate to a fixed point.
    for (let grew = true; grew; ) {
      grew = false
      for (const [pid, ppid] of ppids) {
        if (!tree.has(pid) && tree.has(ppid)) {
          tree.add(pid)
          grew = true
        }
      }
    }
    for (const pid of tree) {
      try {
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ')
        if (cmdline) seen.add(cmdline)
      } catch {
        // ended meanwhile
      }
    }
  }
  sample()
  const timer = setInterval(sample, intervalMs)
  return {
    stop() {
      clearInterval(timer)
      return [...seen]
    },
  }
}
