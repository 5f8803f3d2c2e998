// .ci/setup-env.sh takes Docker Engine and buildx from Debian trixie on a bookworm
// machine. It must take ONLY the engine's own packages from there: `-t trixie` once made
// trixie the target release of every dependency and upgraded a machine's libc6, systemd,
// perl, dpkg and python3. This simulates the script's install (`apt-get install -s`) in a
// bare bookworm container, with the script's own sources, pin and package list
// (.ci/apt/), against Debian's mirror, and fails on anything else from trixie.
import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'
import { requireDocker } from '../helpers/docker.mts'
import { PROJECT_ROOT } from '../helpers/run.mts'

const APT_DIR = path.join(PROJECT_ROOT, '.ci', 'apt')
/** What trixie may give a bookworm machine: the engine, its CLI, buildx, and the containerd it needs. */
const ENGINE_OWN = ['containerd', 'docker-buildx', 'docker-cli', 'docker.io']

/**
 * In the container: the mirror of its own apt sources, the script's trixie sources and
 * pin written as the script writes them, then two simulations printed between markers:
 * the script's install, and the same packages with `-t trixie`.
 */
const SIMULATE = String.raw`set -eu
mirror=$(sed -nE 's/^URIs: *(http[^ ]+\/debian\/?)$/\1/p; s/^deb +(http[^ ]+\/debian\/?) .*/\1/p' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | head -1)
sed "s|@MIRROR@|$mirror|" /cbs-apt/trixie.sources >/etc/apt/sources.list.d/trixie.sources
cp /cbs-apt/trixie.pref /etc/apt/preferences.d/trixie-low
apt-get update -qq >/dev/null
packages=$(grep -v '^#' /cbs-apt/engine-packages)
echo '--- policy'; apt-cache policy
echo '--- script'; apt-get install -s $packages
echo '--- target'; apt-get install -s -t trixie $(echo "$packages" | sed 's|/trixie$||')
`

/** `release v=13.8,o=Debian,a=stable,n=trixie,...` → `Debian:13.8/stable`, as `Inst` lines name a release. */
function releaseLabel(policy: string, codename: string): string {
  const line = policy.split('\n').find((l) => l.includes(`n=${codename},`) && /\brelease\b/.test(l))
  if (!line) throw new Error(`apt-cache policy names no release ${codename}:\n${policy}`)
  const field = (k: string) => new RegExp(`[ ,]${k}=([^,]+)`).exec(line)?.[1]
  return `${field('o')}:${field('v')}/${field('a')}`
}

/**
 * The packages an `apt-get install -s` would take from a release and no other
 * (`Inst name (version Debian:13.8/stable [amd64])`). A version that two releases
 * ship alike lists both (`1.03-4 Debian:12.15/oldstable, Debian:13.8/stable`): that is
 * bookworm's own package, not trixie's.
 */
function installedFrom(simulation: string, label: string): string[] {
  return simulation
    .split('\n')
    .map((l) => /^Inst (\S+) .*\((\S+) (.+?) \[/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && m[3].split(', ').every((r) => r === label))
    .map((m) => m[1])
    .sort()
}

describe('.ci/setup-env.sh on a bookworm machine (simulated in a container)', () => {
  let parts: Record<string, string>
  let trixie: string
  beforeAll(async () => {
    requireDocker(['debian:bookworm-slim'])
    const { stdout } = await promisify(execFile)('docker', ['run', '--rm', '-v', `${APT_DIR}:/cbs-apt:ro`, 'debian:bookworm-slim', 'bash', '-c', SIMULATE], {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 170_000,
    })
    parts = Object.fromEntries(stdout.split(/^--- /m).slice(1).map((p) => [p.slice(0, p.indexOf('\n')), p.slice(p.indexOf('\n') + 1)]))
    trixie = releaseLabel(parts.policy, 'trixie')
  })

  it("the script's install takes the engine's own packages from trixie and nothing else", () => {
    const fromTrixie = installedFrom(parts.script, trixie)
    expect(fromTrixie).toEqual(ENGINE_OWN)
    // And it installs a working set: bookworm's own packages fill the rest.
    expect(installedFrom(parts.script, releaseLabel(parts.policy, 'bookworm')).length).toBeGreaterThan(10)
  })

  it('the check catches `-t trixie`, which makes trixie the target release of every dependency', () => {
    const fromTrixie = installedFrom(parts.target, trixie)
    expect(fromTrixie).toEqual(expect.arrayContaining(ENGINE_OWN))
    expect(fromTrixie.filter((p) => !ENGINE_OWN.includes(p))).toEqual(expect.arrayContaining(['libc6', 'perl', 'systemd']))
  })
})
