// Once per `vitest run`: compile the scripts the tests run (tests/helpers/script-build.mts),
// and after the last test file remove that build and the images the suite made, so a run
// leaves the checkout and the Docker Engine as it found them (a full run builds about 2.5 GB
// of images). CBS_SCRIPTS=source runs the scripts from their sources through tsx instead
// (`npm run test:unit`, which starts none, skips the compile that way).
//
// An image is the suite's when it appeared during the run and every name it has is a
// test's: a uniqueName() (`<prefix>-<pid>-<6 chars>`, see helpers/docker.mts), a
// repository in a test registry on loopback (`127.0.0.1:<port>/...`), or none at all.
// Test names the run added to other images are removed from them. Images and names that
// were there before, and anything else built meanwhile, are left alone.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import type { TestProject } from 'vitest/node'
import { buildScripts, packDir } from './helpers/script-build.mts'

const TEST_NAME = /^(127\.0\.0\.1:\d+\/|[a-z0-9._/-]*-\d+-[a-z0-9]{6}(-[a-z0-9-]+)?:)|^<none>:<none>$/

interface Image {
  id: string
  refs: string[]
}

function images(): Image[] | undefined {
  let out: string
  try {
    out = execFileSync('docker', ['images', '-a', '--no-trunc', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}'], { encoding: 'utf8', stdio: 'pipe', timeout: 30_000 })
  } catch {
    return undefined // no engine: the tests that need one say so
  }
  const byId = new Map<string, string[]>()
  for (const line of out.split('\n').filter(Boolean)) {
    const [id, ref] = line.split(' ')
    byId.set(id, [...(byId.get(id) ?? []), ref])
  }
  return [...byId].map(([id, refs]) => ({ id, refs }))
}

export default function setup(project: TestProject): () => void {
  const scriptsDir = process.env.CBS_SCRIPTS === 'source' ? undefined : buildScripts()
  project.provide('scriptsDir', scriptsDir)
  const removeImages = imageCleanup()
  return () => {
    removeImages()
    // The build, and the package tarball the run packed (tests/helpers/pack.mts).
    for (const dir of scriptsDir ? [scriptsDir, packDir(scriptsDir)] : []) fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** What removes, when called, the images this run made. */
function imageCleanup(): () => void {
  // Several runs sharing one engine (engineers' worktrees side by side) would remove each
  // other's images: CBS_KEEP_IMAGES=1 leaves them all in place.
  if (process.env.CBS_KEEP_IMAGES === '1') return () => {}
  const start = images() ?? []
  const ids = new Set(start.map((i) => i.id))
  const refs = new Set(start.flatMap((i) => i.refs))
  return () => {
    const now = images() ?? []
    // New images with only test names: removed. New test names on other images (a test
    // tags busybox:latest for its registry, say): untagged.
    const made = now.filter((i) => !ids.has(i.id) && i.refs.every((r) => TEST_NAME.test(r))).map((i) => i.id)
    const tags = now.filter((i) => !made.includes(i.id)).flatMap((i) => i.refs.filter((r) => r !== '<none>:<none>' && !refs.has(r) && TEST_NAME.test(r)))
    // A parent listed before its child is refused ("has dependent child images"): a second
    // pass removes it. Whatever is still refused then (a container uses it) is left.
    for (let pass = 0, left = [...tags, ...made]; pass < 3 && left.length > 0; pass++) {
      try {
        execFileSync('docker', ['rmi', '-f', ...left], { stdio: 'pipe', timeout: 120_000 })
        left = []
      } catch {
        const present = new Set((images() ?? []).flatMap((i) => [i.id, ...i.refs]))
        left = left.filter((x) => present.has(x))
      }
    }
  }
}
