// The process tree that runScript's secrets check samples: read from the kernel's
// children lists, it must be the tree the parent pids give, and nothing else.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { processTree, treeFromChildren, treeFromParents, watchDescendants } from '../helpers/proc.mts'

const started: number[] = []
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL')
    } catch {
      // gone
    }
  }
})

/**
 * A shell with a child and a grandchild (a subshell running sleep), in its own process
 * group. The sleeps' lengths tell the trees apart: `sleep <base>` is the grandchild,
 * `sleep <base + 1>` the child.
 */
async function nestedTree(base: number): Promise<number> {
  const child = spawn('sh', ['-c', `(sleep ${base}; :) & sleep ${base + 1} & wait`], { detached: true, stdio: 'ignore' })
  started.push(child.pid!)
  // Until both sleeps are up.
  for (let i = 0; i < 100 && treeFromParents(child.pid!).size < 4; i++) await new Promise((r) => setTimeout(r, 20))
  return child.pid!
}

const cmdline = (pid: number) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ')

describe('the process tree under a pid', () => {
  it('the children lists give the same tree as the parent pids: the root, its children and grandchildren, no other process', async () => {
    const root = await nestedTree(300)
    const other = await nestedTree(400)
    const byChildren = treeFromChildren(root)
    expect(byChildren).toEqual(treeFromParents(root))
    expect(processTree(root)).toEqual(byChildren)
    const lines = [...byChildren].map(cmdline)
    expect(lines).toContain('sleep 300')
    expect(lines).toContain('sleep 301')
    expect(byChildren.size).toBe(4) // sh, the subshell, two sleeps
    for (const pid of treeFromParents(other)) expect(byChildren.has(pid)).toBe(false)
  })

  it('a watch sees every command line of the tree, grandchildren included, and none of another tree', async () => {
    const root = await nestedTree(500)
    await nestedTree(600)
    const seen = watchDescendants(root, 10)
    await new Promise((r) => setTimeout(r, 50))
    const lines = seen.stop()
    expect(lines).toContain('sleep 500')
    expect(lines.some((l) => l.includes('sleep 60'))).toBe(false)
  })

  it('a pid that has ended is a tree of itself alone', () => {
    expect(treeFromChildren(2 ** 22 + 1)).toEqual(new Set([2 ** 22 + 1]))
  })
})
