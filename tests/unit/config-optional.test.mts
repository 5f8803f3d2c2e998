// loadConfig's `optional` mode: for scripts that need no build image (cherry-pick).
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { defaultCherryPick, loadConfig } from '../../lib/core/config.mts'
import { tempDir } from '../helpers/repo.mts'

describe('loadConfig({ optional: true })', () => {
  it('resolves to undefined when build.config.json does not exist', async () => {
    expect(await loadConfig({ root: tempDir(), optional: true })).toBeUndefined()
  })

  it('still requires the file without it', async () => {
    await expect(loadConfig({ root: tempDir() })).rejects.toThrow(/build.config.json: not found/)
  })

  it('still requires an explicit --config file to exist', async () => {
    const root = tempDir()
    await expect(loadConfig({ root, file: path.join(root, 'nope.json'), optional: true })).rejects.toThrow(/not found/)
  })

  it('validates a file that exists in full (buildImage stays required)', async () => {
    const root = tempDir()
    fs.writeFileSync(path.join(root, 'build.config.json'), JSON.stringify({ cherryPick: { labelPrefix: 'bp/' } }))
    await expect(loadConfig({ root, optional: true })).rejects.toThrow(/buildImage: required, missing/)
  })

  it('reads cherryPick from a file that has it, and the same defaults as an absent section', async () => {
    const root = tempDir()
    const buildImage = { name: 'app-build', inputs: ['x'] }
    fs.writeFileSync(path.join(root, 'build.config.json'), JSON.stringify({ buildImage, cherryPick: { targetBranches: 'stable/*' } }))
    expect((await loadConfig({ root, optional: true }))?.cherryPick).toEqual({ labelPrefix: 'cherry-pick/', targetBranches: ['stable/*'], reviewers: false, milestone: false, autoMerge: false })
    fs.writeFileSync(path.join(root, 'build.config.json'), JSON.stringify({ buildImage }))
    expect((await loadConfig({ root, optional: true }))?.cherryPick).toEqual(defaultCherryPick())
    expect(defaultCherryPick()).toEqual({ labelPrefix: 'cherry-pick/', targetBranches: ['release-*'], reviewers: false, milestone: false, autoMerge: false })
  })
})
