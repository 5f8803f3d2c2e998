#!/usr/bin/env bash
# The go-app example's main job, as its README says: the "Try it" block of
# examples/go-app/README.md, read from the README itself (so the two cannot drift) and run
# from the repository root with sh -e. The one liberty taken: a fresh directory of its own
# instead of /tmp/go-app, so a second run starts from nothing too. Then the final image
# the dry run built answers with the version it was given, and the copy is left clean.
set -euo pipefail
cd "$(dirname "$0")/.."
block=$(awk '/^## Try it/ {in_section = 1} in_section && /^```sh$/ {grab = 1; next} grab && /^```$/ {exit} grab' examples/go-app/README.md)
[ -n "$block" ] || { echo "examples/go-app/README.md has no \"Try it\" sh block" >&2; exit 1; }
# A new machine has no git identity: the block's commit gets one, as a new user would set.
git config user.email >/dev/null 2>&1 || export GIT_AUTHOR_NAME="New User" GIT_AUTHOR_EMAIL=new@example.com \
  GIT_COMMITTER_NAME="New User" GIT_COMMITTER_EMAIL=new@example.com
dir=$(mktemp -d)/go-app
trap 'rm -rf "$(dirname "$dir")"' EXIT
printf '==> examples/go-app, as its README says (in %s):\n%s\n' "$dir" "$block" >&2
sh -ec "${block//\/tmp\/go-app/$dir}"
# What the dry run built: the final image on main, tagged sha-<12 hex> and main.
version=$(docker run --rm go-app:main)
[ -n "$version" ] || { echo "go-app:main printed no version" >&2; exit 1; }
printf '==> go-app:main says %s\n' "$version" >&2
[ -z "$(git -C "$dir" status --porcelain)" ] || { echo "the example's copy is not clean after its run:" >&2; git -C "$dir" status --short >&2; exit 1; }
docker rmi -f go-app:main "go-app:sha-$(git -C "$dir" rev-parse --short=12 HEAD)" >/dev/null
