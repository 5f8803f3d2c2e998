// Which planned tag moves a registry that holds tags immutable (an ECR repository) would
// refuse, decided before pushing. Content tags and releases never move, so only the
// moving tags (latest, a branch's, sha- of a rebuilt commit) can meet the refusal: each
// is skipped (the tag keeps its earlier image, with a warning), unless `moveTags` names
// it; then it is pushed, and a refusal is reported as an error.
import { parseImageRef } from '../image/image-ref.mts'
import { tagMatches, tagMayMove, type RepositoryMutability } from '../image/ecr.mts'
import type { PlanEntry } from './publish-plan.mts'

/** The plan with every refused move made `skip`, and the moves still tried marked `immutable`. Pure. */
export function holdImmutableTags(plan: PlanEntry[], repositories: Map<string, RepositoryMutability>, moveTags: string[]): PlanEntry[] {
  return plan.map((entry) => {
    if (entry.action !== 'update' && entry.action !== 'overwrite') return entry
    const state = repositories.get(parseImageRef(entry.ref).repository)
    const tag = entry.ref.slice(entry.ref.lastIndexOf(':') + 1)
    if (!state || tagMayMove(state, tag)) return entry
    // A release's --allow-overwrite and an unsigned build image's replacement are asked
    // for explicitly: tried, and a refusal reported.
    const tried = entry.action === 'overwrite' || entry.kind === 'build-image' || tagMatches(moveTags, tag)
    return tried ? { ...entry, immutable: true } : { ...entry, action: 'skip' as const }
  })
}
