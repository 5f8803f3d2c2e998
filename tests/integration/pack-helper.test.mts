// packProject (tests/helpers/pack.mts): the tests of the published package pack this
// repository, whose prepack rebuilds dist/ in the checkout. Two packs at once broke each
// other (ENOTEMPTY removing dist/, a tarball without dist/lib); they take turns, and a run
// packs once.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { packProject } from '../helpers/pack.mts'
import { TEST_BUILD_ROOT } from '../helpers/script-build.mts'

const LOCK = path.join(TEST_BUILD_ROOT, 'pack.lock')

describe('packing this repository for the package tests', () => {
  it('callers at once get one whole tarball, packed once; a lock left by a dead process is taken over, and none is left', { timeout: 600_000 }, async () => {
    // A lock whose holder is gone (a worker killed mid-pack).
    const dead = spawn('true')
    await new Promise((r) => dead.on('close', r))
    fs.mkdirSync(LOCK, { recursive: true })
    fs.writeFileSync(path.join(LOCK, 'pid'), String(dead.pid))

    const [a, b] = await Promise.all([packProject(), packProject()])
    expect(b).toEqual(a)
    expect(fs.statSync(a.tarball).size).toBeGreaterThan(10_000)
    expect(a.files).toEqual(expect.arrayContaining(['bin/ci-build-scripts.mjs', 'dist/lib/core/cli.mjs', 'dist/scripts/image-tag.mjs']))
    expect(fs.existsSync(LOCK)).toBe(false)
  })
})
