// The label keys the scripts' images carry: OCI's where one exists, this project's
// otherwise. The one place these strings are written.
export const LABELS = {
  version: 'org.opencontainers.image.version',
  revision: 'org.opencontainers.image.revision',
  /** The commit's committer date (never the build's clock): reproducible. */
  created: 'org.opencontainers.image.created',
  source: 'org.opencontainers.image.source',
  /** The build image's name: finds earlier builds to use as --cache-from. */
  buildImage: 'dev.ci-build-scripts.build-image',
  /** The inputs the tag is the hash of, one path per line. */
  inputs: 'dev.ci-build-scripts.inputs',
  /** On the containers the scripts start (value: the repository root), so they can be found. */
  container: 'dev.ci-build-scripts.repo',
} as const
