// The scripts as the tests run them: compiled once per `vitest run` (tests/global-setup.mts)
// by the package's own build (tsconfig.build.json, TypeScript to JavaScript, the CI
// templates copied beside the module that reads them) into a directory of that run's own,
// then run through zx like their sources. A script started through tsx spends about half a
// second of CPU compiling and loading; the suite starts some 800 of them, on two cores.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { PROJECT_ROOT } from './run.mts'

const require = createRequire(import.meta.url)

/** Where a run's compiled scripts go: `.test-build/<pid>` in the checkout, beside scripts/ and lib/ (git ignores it). */
export const TEST_BUILD_ROOT = path.join(PROJECT_ROOT, '.test-build')

/**
 * Compile scripts/ and lib/ into a new directory under TEST_BUILD_ROOT and return it. Type
 * errors do not stop it (`npm run typecheck` is their check); a compiler that cannot run
 * throws with its output.
 */
export function buildScripts(): string {
  const out = path.join(TEST_BUILD_ROOT, String(process.pid))
  fs.rmSync(out, { recursive: true, force: true })
  const tsc = require.resolve('typescript/bin/tsc')
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', out, '--declaration', 'false', '--sourceMap', 'false'], { cwd: PROJECT_ROOT, encoding: 'utf8' })
  const built = path.join(out, 'scripts')
  if (!fs.existsSync(built)) throw new Error(`compiling the scripts for the tests failed (exit ${result.status}): ${(result.stdout + result.stderr).trim().slice(-2000)}`)
  fs.cpSync(path.join(PROJECT_ROOT, 'lib/init/ci-templates'), path.join(out, 'lib/init/ci-templates'), { recursive: true })
  return out
}

/** Where a run's package tarball is kept (tests/helpers/pack.mts), beside its compiled scripts and removed with them. */
export const packDir = (scriptsDir: string) => `${scriptsDir}-pack`

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's compiled scripts (buildScripts), or undefined to run their sources. */
    scriptsDir: string | undefined
  }
}
