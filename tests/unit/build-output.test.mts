// The build failure message, read from what each builder really printed (captured from
// Docker Engine 26.1.5: BuildKit through buildx 0.13.1, and DOCKER_BUILDKIT=0). The
// integration test `faults › a Dockerfile.build step that fails` checks the same message
// on the live engine under whichever builder the run selects.
import { describe, expect, it } from 'vitest'
import { describeBuildFailure, failedAtExport, parseBuildFailure } from '../../lib/image/build-output.mts'
import { buildArgv, needsLoad, type BuildOptions } from '../../lib/image/docker.mts'

const BUILDKIT = `#0 building with "default" instance using docker driver

#6 [2/3] COPY Dockerfile /d
#6 DONE 0.4s

#7 [3/3] RUN echo line1 && echo wt12-fail-19288 && exit 3
#7 4.669 line1
#7 4.669 wt12-fail-19288
#7 ERROR: process "/bin/sh -c echo line1 && echo wt12-fail-19288 && exit 3" did not complete successfully: exit code: 3
------
 > [3/3] RUN echo line1 && echo wt12-fail-19288 && exit 3:
4.669 line1
4.669 wt12-fail-19288
------
Dockerfile:3
--------------------
   1 |     FROM busybox:latest
   2 |     COPY Dockerfile /d
   3 | >>> RUN echo line1 && echo wt12-fail-19288 && exit 3
   4 |     
--------------------
ERROR: failed to solve: process "/bin/sh -c echo line1 && echo wt12-fail-19288 && exit 3" did not complete successfully: exit code: 3
`

const LEGACY = `DEPRECATED: The legacy builder is deprecated and will be removed in a future release.

Sending build context to Docker daemon   5.12kB
Step 1/3 : FROM busybox:latest
 ---> 232b75011dcf
Step 2/3 : COPY Dockerfile /d
 ---> 4a510768204b
Step 3/3 : RUN echo line1 && echo wt12-fail-19288 && exit 3
 ---> Running in ba0f5d91ee20
line1
wt12-fail-19288
 ---> Removed intermediate container ba0f5d91ee20
The command '/bin/sh -c echo line1 && echo wt12-fail-19288 && exit 3' returned a non-zero code: 3
`

const EXPECTED = 'docker build failed at step [3/3] RUN echo line1 && echo wt12-fail-19288 && exit 3: exit code 3\n  line1\n  wt12-fail-19288'

describe('parseBuildFailure', () => {
  it('BuildKit: the failing step, its exit code and its last lines, timestamps removed', () => {
    expect(describeBuildFailure(parseBuildFailure(BUILDKIT)!)).toBe(EXPECTED)
  })

  it('the legacy builder: the same message', () => {
    expect(describeBuildFailure(parseBuildFailure(LEGACY)!)).toBe(EXPECTED)
  })

  it('keeps only the last lines of a long step', () => {
    const many = Array.from({ length: 20 }, (_, i) => `out ${i}`)
    const legacy = `Step 1/1 : RUN x\n ---> Running in 0123456789ab\n${many.join('\n')}\nThe command '/bin/sh -c x' returned a non-zero code: 2\n`
    expect(parseBuildFailure(legacy, { lastLines: 3 })).toEqual({ step: '[1/1] RUN x', reason: 'exit code 2', lines: ['out 17', 'out 18', 'out 19'] })
  })

  it('the legacy builder\'s steps for --label (one each, after the Dockerfile\'s) are not counted: [3/3], as BuildKit says', () => {
    const withLabels = LEGACY.replace(/Step (\d)\/3 /g, 'Step $1/7 ')
    expect(withLabels).toContain('Step 3/7 : RUN')
    expect(describeBuildFailure(parseBuildFailure(withLabels, { appendedSteps: 4 })!)).toBe(EXPECTED)
  })

  it('a step that is not a command: the builder\'s error line (BuildKit, legacy)', () => {
    const buildkit = '#6 [2/2] COPY tools/version /v\n#6 ERROR: lstat /x/tools: no such file or directory\n------\n > [2/2] COPY tools/version /v:\n------\nERROR: failed to solve: failed to compute cache key: "/tools/version": not found\n'
    expect(parseBuildFailure(buildkit)).toEqual({ step: '[2/2] COPY tools/version /v', reason: 'failed to compute cache key: "/tools/version": not found', lines: [] })
    const legacy = 'Step 2/2 : COPY tools/version /v\nCOPY failed: file not found in build context or excluded by .dockerignore: stat tools/version: file does not exist\n'
    expect(parseBuildFailure(legacy)).toEqual({ step: '[2/2] COPY tools/version /v', reason: 'COPY failed: file not found in build context or excluded by .dockerignore: stat tools/version: file does not exist', lines: [] })
  })

  it('a multi-stage BuildKit step keeps its stage name', () => {
    const text = '------\n > [builder 2/4] RUN make:\n0.1 make: *** no rule\n------\nERROR: failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2\n'
    expect(describeBuildFailure(parseBuildFailure(text)!)).toBe('docker build failed at step [builder 2/4] RUN make: exit code 2\n  make: *** no rule')
  })

  it('undefined for output that names no failure', () => {
    expect(parseBuildFailure('Cannot connect to the Docker daemon\n')).toBeUndefined()
  })
})

describe('buildArgv per builder', () => {
  const options: BuildOptions = { context: '/ctx', tags: ['t:1'], cacheFrom: ['t:0'] }
  const argv = (builder: Parameters<typeof buildArgv>[1]) => buildArgv(options, builder, '/tmp/iid')

  it('the docker driver and the legacy builder build into the image store: no --load', () => {
    expect(argv({ kind: 'buildkit', name: 'default', driver: 'docker' })).not.toContain('--load')
    expect(argv({ kind: 'legacy' })).not.toContain('--load')
  })

  it('docker-container (setup-buildx-action), kubernetes, remote: --load, so `docker run` finds the image', () => {
    for (const driver of ['docker-container', 'kubernetes', 'remote']) {
      const builder = { kind: 'buildkit' as const, name: 'b', driver }
      expect(needsLoad(builder)).toBe(true)
      expect(argv(builder)).toEqual(['build', '--force-rm', '--iidfile', '/tmp/iid', '--provenance=false', '--load', '--tag', 't:1', '--build-arg', 'BUILDKIT_INLINE_CACHE=1', '--cache-from', 't:0', '/ctx'])
    }
  })

  it('BuildKit builds without a provenance attestation (a cached rebuild is the same image under the containerd store); the legacy builder has no such flag', () => {
    expect(argv({ kind: 'buildkit', name: 'default', driver: 'docker' })).toContain('--provenance=false')
    expect(argv({ kind: 'legacy' })).not.toContain('--provenance=false')
  })

  it('a full cache export beside the image: mode=max with an image manifest and OCI media types (what ECR needs)', () => {
    const builder = { kind: 'buildkit' as const, name: 'b', driver: 'docker-container' }
    const args = buildArgv({ ...options, cacheTo: 'r.example/b:1-cache' }, builder, '/tmp/iid')
    expect(args).toEqual(expect.arrayContaining(['--cache-to', 'type=registry,ref=r.example/b:1-cache,mode=max,image-manifest=true,oci-mediatypes=true', '--load', '--tag', 't:1']))
    expect(argv(builder)).not.toContain('--cache-to')
  })
})

describe('failedAtExport', () => {
  const exportError = '#9 exporting to image\n#9 exporting layers done\n#9 ERROR: failed to get reader from content store: content digest sha256:0123: not found\n------\n > exporting to image:\n------\nERROR: failed to solve: failed to get reader from content store: content digest sha256:0123: not found\n'
  it('a blob not found while the image is named, every step done', () => {
    expect(failedAtExport(exportError)).toBe(true)
    // Without the vertex's own ERROR line: the final one says it.
    expect(failedAtExport('#9 exporting to image\n#9 exporting layers done\nERROR: failed to solve: blob sha256:0123: not found\n')).toBe(true)
    // After a cache ref that could not be read, which BuildKit goes on from.
    expect(failedAtExport('#5 importing cache manifest from r/x:t-cache\n#5 ERROR: httpReadSeeker: failed open: 503 Service Unavailable\n#9 exporting to image\n#9 exporting layers done\nERROR: failed to solve: not found\n')).toBe(true)
  })
  it('never a step\'s own failure, another export error, or a build that never got to the export', () => {
    expect(failedAtExport('#7 [2/3] RUN cat /missing\n#7 ERROR: process "/bin/sh -c cat /missing" did not complete successfully: exit code: 1\n#9 exporting to image\n#9 ERROR: blob not found\nERROR: failed to solve: not found\n')).toBe(false)
    expect(failedAtExport('#9 exporting to image\n#9 ERROR: no space left on device\nERROR: failed to solve: no space left on device\n')).toBe(false)
    expect(failedAtExport('#7 [2/3] RUN stat /x\n#7 ERROR: not found\nERROR: failed to solve: not found\n')).toBe(false)
  })
})
