# The runtime image of ci-build-scripts: every script, ready to run against a checkout,
# with Node.js, git and the Docker CLI and nothing to install.
#
#   docker run --rm -v /var/run/docker.sock:/var/run/docker.sock -v "$PWD:$PWD" -w "$PWD" \
#     ghcr.io/acme/ci-build-scripts image-tag --image
#
# (`docker run IMAGE <script> [flags]` runs dist/scripts/<script>.mjs, built from
# scripts/<script>.mts, through bin/ci-build-scripts.mjs, the package's
# `ci-build-scripts` command, in one Node process; mount the checkout
# at its own path, so that the containers the scripts start can mount it too. The
# repository needs no Node.js of its own: see "Use it in your repository" in README.md.)
#
# Built by `npx zx scripts/push-images.mts`, which passes two build args:
#   BUILD_IMAGE  required: the build image's ref (Dockerfile.build). Its dependencies
#                and its Docker CLI are reused, so this build needs no network for them.
#   VERSION      1.2.3 for a release tag v1.2.3, the short sha on the default branch:
#                recorded as the org.opencontainers.image.version label.
ARG BUILD_IMAGE

FROM ${BUILD_IMAGE} AS build
WORKDIR /opt/ci-build-scripts
COPY package.json package-lock.json .npmrc tsconfig.json tsconfig.build.json ./
COPY bin/ bin/
COPY lib/ lib/
COPY scripts/ scripts/
# The build image holds every dependency already: build the JavaScript with its
# TypeScript (as prepack does for the npm package), then keep the runtime dependencies.
RUN cp -a /opt/deps/node_modules node_modules \
 && npm run build \
 && npm prune --omit=dev --offline --no-audit --no-fund \
 && rm tsconfig.json tsconfig.build.json .npmrc

FROM node:20-bookworm-slim
# procps: zx stops a command's process tree (a timeout, an interrupt) through `ps`.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates procps \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && git config --system --add safe.directory '*'
COPY --from=build /usr/bin/docker /usr/bin/docker
COPY --from=build /opt/ci-build-scripts /opt/ci-build-scripts
ARG VERSION=dev
LABEL org.opencontainers.image.title=ci-build-scripts \
      org.opencontainers.image.version=${VERSION}
ENTRYPOINT ["node", "/opt/ci-build-scripts/bin/ci-build-scripts.mjs"]
CMD ["image-tag", "--help"]
