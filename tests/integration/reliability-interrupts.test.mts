// Reliability under SIGINT and SIGTERM: pull-or-build and test-and-build are interrupted
// at known points (the signal is sent when a given line appears on stderr) and must exit
// 130 / 143, leaving no container, no temp file, no docker command running on after them,
// and no half-pushed tag. (cherry-pick: reliability-interrupts-cherry-pick.test.mts.)
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../lib/core/config.mts'
import { repoInfo } from '../../lib/core/git.mts'
import { computeBuildImageTag } from '../../lib/image/content-tag.mts'
import { makeBuildRepo } from '../helpers/build-image.mts'
import { docker } from '../helpers/docker.mts'
import { containers, containersRunning, leftInTmp, processesMentioning, scriptTmpDir } from '../helpers/leftovers.mts'
import { useRegistryScene } from '../helpers/registry-scene.mts'
import { tempDir } from '../helpers/repo.mts'
import { runScript, type RunResult } from '../helpers/run.mts'

const SIGNALS = [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const
type Signal = (typeof SIGNALS)[number][0]

const ENV = { REGISTRY: '', REGISTRY_RETRIES: '1', REGISTRY_RETRY_DELAY_MS: '50', REGISTRY_USERNAME: '', CI: '', GITHUB_ACTIONS: '' }
/** Containers test-and-build starts carry this label, valued with the repository root. */
const STEP_LABEL = 'dev.ci-build-scripts.repo'

interface Interrupted extends RunResult {
  /** The script's TMPDIR: empty afterwards. */
  tmp: string
  /** Whether the trigger line appeared (and the signal was sent). */
  sent: boolean
}

/** Run `script` in `repo` and send `signal` once stderr matches `trigger`. */
async function interrupt(script: string, repo: string, args: string[], signal: Signal, trigger: RegExp, env: NodeJS.ProcessEnv = {}): Promise<Interrupted> {
  const tmp = scriptTmpDir()
  let sent = false
  let seen = ''
  const result = await runScript(script, args, {
    cwd: repo,
    env: { ...ENV, TMPDIR: tmp, ...env },
    onStderr: (text, child) => {
      seen += text
      if (!sent && trigger.test(seen)) {
        sent = true
        child.kill(signal)
      }
    },
  })
  return { ...result, tmp, sent }
}

/** What every interrupted run must show: the exit code of the signal, and nothing of it left. */
function expectCleanExit(result: Interrupted, signal: Signal, code: number): void {
  expect(result.sent, `the trigger never appeared:\n${result.stderr}`).toBe(true)
  expect(result.exitCode, result.stderr).toBe(code)
  expect(result.stderr).toContain(`Interrupted (${signal}); cleaning up`)
  expect(leftInTmp(result.tmp), 'temp files left behind').toEqual([])
  expect(processesMentioning(result.tmp), 'processes left running').toEqual([])
}

// Independent runs (own repository, names, proxy), mostly waiting on Docker: concurrently.
describe.concurrent('interrupts', () => {
  const scene = useRegistryScene()
  const { registry, name } = scene

  /** A fixture whose build image takes a while to build: its RUN step prints `marker`, then sleeps. */
  function slowBuild(prefix: string, config: Record<string, unknown> = {}) {
    const n = name(prefix)
    const marker = `build-step-of-${n}`
    const repo = makeBuildRepo({ name: n, dockerfile: `FROM busybox:latest\nCOPY tools /opt/tools\nRUN echo ${marker} && sleep 30\n`, config })
    return { n, repo, marker }
  }

  describe('pull-or-build', () => {
    it.each(SIGNALS)('%s while the build image is being built: exit %i, the build stopped, its container and context gone', async (signal, code) => {
      const { n, repo, marker } = slowBuild('rel-int-pob-build')
      const result = await interrupt('pull-or-build', repo, [], signal, new RegExp(marker))
      expectCleanExit(result, signal, code)
      expect(containersRunning(marker)).toEqual([])
      // Not finished behind our back: no image under the tag.
      expect(docker('image', 'ls', '-q', '--filter', `label=dev.ci-build-scripts.build-image=${n}`)).toBe('')
    })

    it.each(SIGNALS)('%s in the middle of the push: exit %i, the push stopped, the tag absent or complete', async (signal, code) => {
      // A slow registry, so that the push is still going when the signal lands.
      const proxy = await scene.proxy({ latencyMs: 300 })
      const n = name('rel-int-pob-push')
      const repo = makeBuildRepo({ name: n })
      const { tag } = await computeBuildImageTag(await repoInfo(repo), await loadConfig({ root: repo, env: { REGISTRY: proxy.host } }))
      const ref = `${proxy.host}/${n}:${tag}`
      const result = await interrupt('pull-or-build', repo, ['--push'], signal, /The push refers to repository/, { REGISTRY: proxy.host })
      expectCleanExit(result, signal, code)
      expect(processesMentioning(ref), 'docker push left running').toEqual([])
      expect(['absent', 'complete']).toContain(await registry.tagState(n, tag))
    })

    it.each(SIGNALS)('%s in the middle of a pull: exit %i, the pull stopped', async (signal, code) => {
      const proxy = await scene.proxy({ latencyMs: 300 })
      const n = name('rel-int-pob-pull')
      const repo = makeBuildRepo({ name: n })
      const { tag } = await computeBuildImageTag(await repoInfo(repo), await loadConfig({ root: repo, env: { REGISTRY: proxy.host } }))
      // In the registry (a layer of its own, so the pull has work to do), not local.
      const direct = `${registry.host}/${n}:${tag}`
      const context = tempDir('cbs-noise-')
      fs.writeFileSync(path.join(context, 'Dockerfile'), 'FROM busybox:latest\nRUN head -c 300000 /dev/urandom > /noise\n')
      docker('build', '-q', '--force-rm', '-t', direct, context)
      docker('push', '-q', direct)
      docker('rmi', direct)
      const ref = `${proxy.host}/${n}:${tag}`
      const result = await interrupt('pull-or-build', repo, [], signal, /Pulling from/, { REGISTRY: proxy.host })
      expectCleanExit(result, signal, code)
      expect(processesMentioning(ref), 'docker pull left running').toEqual([])
    })
  })

  describe('test-and-build', () => {
    it.each(SIGNALS)('%s while the build image is being built: exit %i, no container, no temp files', async (signal, code) => {
      const { repo, marker } = slowBuild('rel-int-tab-build', { steps: { test: ['touch', 'test-ran'] } })
      const result = await interrupt('test-and-build', repo, [], signal, new RegExp(marker))
      expectCleanExit(result, signal, code)
      expect(containersRunning(marker)).toEqual([])
      expect(containers(`label=${STEP_LABEL}=${repo}`)).toEqual([])
      expect(fs.existsSync(path.join(repo, 'test-ran'))).toBe(false)
    })

    it.each(SIGNALS)('%s during the second step: exit %i, the container gone, no temp files', async (signal, code) => {
      const n = name('rel-int-tab-step')
      const marker = `second-step-of-${n}`
      const repo = makeBuildRepo({ name: n, config: { steps: { test: ['touch', 'test-ran'], build: ['sh', '-c', `echo ${marker}; sleep 30; touch build-finished`] } } })
      const result = await interrupt('test-and-build', repo, [], signal, new RegExp(marker))
      expectCleanExit(result, signal, code)
      expect(containers(`label=${STEP_LABEL}=${repo}`)).toEqual([])
      expect(fs.existsSync(path.join(repo, 'test-ran'))).toBe(true)
      expect(fs.existsSync(path.join(repo, 'build-finished'))).toBe(false)
    })
  })
})
