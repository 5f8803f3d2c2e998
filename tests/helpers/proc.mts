// Watch the process tree under a pid through /proc (Linux): every command line any
// descendant had while the watch ran. For "a secret never reaches argv" assertions.
import fs from 'node:fs'

export interface ProcessWatch {
  /** Stop sampling; every distinct command line seen (arguments joined by spaces). */
  stop(): string[]
}

/**
 * `rootPid` and its descendants, from the kernel's list of each thread's children
 * (/proc/<pid>/task/<tid>/children): only the tree's own entries are read. Every thread
 * is read, since a multi-threaded parent (a Go binary, say) forks from any of them.
 */
export function treeFromChildren(rootPid: number): Set<number> {
  const tree = new Set([rootPid])
  const queue = [rootPid]
  while (queue.length > 0) {
    const pid = queue.pop()!
    let threads: string[]
    try {
      threads = fs.readdirSync(`/proc/${pid}/task`)
    } catch {
      continue // ended meanwhile
    }
    for (const tid of threads) {
      let children: string
      try {
        children = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8')
      } catch {
        continue
      }
      for (const child of children.split(' ').filter(Boolean).map(Number)) {
        if (!tree.has(child)) {
          tree.add(child)
          queue.push(child)
        }
      }
    }
  }
  return tree
}

/**
 * The same tree from every process's parent pid (/proc/<pid>/stat), for a kernel built
 * without the children lists: it reads every process on the machine, at each sample.
 */
export function treeFromParents(rootPid: number): Set<number> {
  const ppids = new Map<number, number>()
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8')
      // `pid (comm) state ppid ...`: comm may hold spaces and parentheses.
      ppids.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {
      // the process ended meanwhile
    }
  }
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
  return tree
}

const hasChildrenLists = fs.existsSync(`/proc/self/task/${process.pid}/children`)

/** `rootPid` and every process under it now. */
export function processTree(rootPid: number): Set<number> {
  return hasChildrenLists ? treeFromChildren(rootPid) : treeFromParents(rootPid)
}

/** Sample `rootPid` and its descendants every `intervalMs` until stop(). */
export function watchDescendants(rootPid: number, intervalMs = 20): ProcessWatch {
  const seen = new Set<string>()
  const sample = () => {
    const tree = processTree(rootPid)
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
