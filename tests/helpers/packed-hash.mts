// The hash of a package manager as the npm registry serves it, for a packageManager field
// that pins it (`pnpm@9.12.3+sha512.<hex>`): `npm pack` of the package from the real
// registry, then the hash of the tarball, or of one file in it (Yarn 2+'s bin/yarn.js).
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { tempDir } from './repo.mts'
import { adopterEnv } from './run.mts'

const run = promisify(execFile)

/** The hex `algorithm` digest of `spec`'s tarball (`file` 'tarball') or of `file` inside it (`package/bin/yarn.js`). */
export async function packedHash(spec: string, file: string, algorithm: string): Promise<string> {
  const dir = tempDir('cbs-pack-pm-')
  const { stdout } = await run('npm', ['pack', '--silent', spec], { cwd: dir, env: adopterEnv(), timeout: 300_000 })
  const tgz = path.join(dir, stdout.trim().split('\n').pop()!)
  if (file !== 'tarball') await run('tar', ['-xzf', tgz, '-C', dir, file])
  const hash = createHash(algorithm).update(fs.readFileSync(file === 'tarball' ? tgz : path.join(dir, file))).digest('hex')
  fs.rmSync(dir, { recursive: true, force: true })
  return hash
}
