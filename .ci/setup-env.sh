#!/usr/bin/env bash
# Test environment: a real Docker Engine, the real distribution registry, and the
# base images the tests build on. Idempotent: a second run only checks.
#
#   bash .ci/setup-env.sh                      (as root, or with sudo available)
#   bash .ci/setup-env.sh --containerd-store   the same, then a second daemon with the
#                                              containerd image store (step 7)
#
# On a machine that can reach Docker Hub the base images are pulled; here, where it
# cannot, they are seeded from Debian (debootstrap) and the host's own Node.js.
set -euo pipefail

log() { printf '==> %s\n' "$*" >&2; }
containerd_store=0
for arg in "$@"; do
  case $arg in
    --containerd-store) containerd_store=1 ;;
    *) log "unknown argument: $arg (usage: bash .ci/setup-env.sh [--containerd-store])"; exit 2 ;;
  esac
done
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
# Debian's mirror, as this machine's apt sources name it.
mirror=$(grep -hoE '^URIs: *http[^ ]+/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{print $2}')
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian

# 1. Packages: Docker Engine with BuildKit (buildx), the registry, debootstrap, a static
#    busybox, htpasswd, ps.
#
# The engine CI runners have: Docker Engine 26+ with buildx, so `docker build` is BuildKit
# (DOCKER_BUILDKIT=0 still selects the legacy builder). Debian bookworm ships 20.10 and no
# buildx; trixie's docker.io and docker-buildx install cleanly on bookworm from Debian's
# own archive, so trixie is added at a low pin priority and only these two packages (and
# what they need) come from it. A machine that already runs 26+ with buildx keeps its own.
# The engine that answers (a daemon already running, a Docker Desktop, a CI runner's) is
# what the tests use when it is 26 or newer and has buildx: nothing is installed over it.
# trixie at a low pin priority: nothing comes from it unless a package names it. The
# sources, the pin and the package list are files beside this script (.ci/apt/), so that
# tests/integration/setup-env.test.mts simulates this very install in a bookworm container.
apt_dir="$(cd "$(dirname "$0")" && pwd)/apt"
mapfile -t engine_packages < <(grep -v '^#' "$apt_dir/engine-packages")
# apt's lists are read once a run: again only when a source was added since.
apt_updated=0
apt_update() {
  [ "$apt_updated" = 1 ] && return
  $SUDO apt-get update -qq
  apt_updated=1
}
add_trixie() {
  if [ ! -e /etc/apt/sources.list.d/trixie.sources ]; then
    sed "s|@MIRROR@|$mirror|" "$apt_dir/trixie.sources" | $SUDO tee /etc/apt/sources.list.d/trixie.sources >/dev/null
    $SUDO cp "$apt_dir/trixie.pref" /etc/apt/preferences.d/trixie-low
    apt_updated=0
  fi
  apt_update
}
engine_major() { docker version --format '{{.Server.Version}}' 2>/dev/null | sed -nE 's/^([0-9]+)\..*/\1/p'; }
installed_major() { dockerd --version 2>/dev/null | sed -nE 's/^Docker version ([0-9]+)\..*/\1/p'; }
running=$(engine_major || true)
if [ -n "$running" ] && [ "$running" -ge 26 ] && docker buildx version >/dev/null 2>&1; then
  log "using the running Docker Engine $(docker version --format '{{.Server.Version}}') with $(docker buildx version | awk '{print $1, $2}')"
elif [ -n "$running" ] && [ "$running" -lt 26 ]; then
  # An old engine is running (bookworm's 20.10, say): installing over it would leave the old
  # daemon serving the tests. Stopping someone's daemon is not this script's call.
  log "a Docker Engine older than 26 is running ($(docker version --format '{{.Server.Version}}')): stop it, then rerun this script"
  exit 1
elif [ -z "$running" ] && [ "$(installed_major || echo 0)" -ge 26 ] 2>/dev/null && docker buildx version >/dev/null 2>&1; then
  :  # installed and current; started below
else
  add_trixie
  # The release is named per package (docker.io/trixie), never with -t trixie: -t makes
  # trixie the target release of every dependency too, and upgrades the machine's libc6,
  # systemd, perl, dpkg and python3. Named per package, apt takes from trixie only
  # docker.io, docker-cli, docker-buildx and containerd (tests/integration/setup-env.test.mts
  # simulates this install in a bookworm container and fails on anything else).
  log "installing from Debian trixie: ${engine_packages[*]} (with docker-cli and containerd); nothing else from trixie"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${engine_packages[@]}" >/dev/null
fi
need=()
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v debootstrap >/dev/null     || need+=(debootstrap)
dpkg -s busybox-static >/dev/null 2>&1          || need+=(busybox-static)
command -v htpasswd >/dev/null        || need+=(apache2-utils)
command -v ps >/dev/null              || need+=(procps)   # zx stops process trees with ps
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt_update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# cosign signs and verifies images (build.config.json `signing`; the signature tests run
# the real one). Bookworm has none; trixie's cosign 2.5.0 comes alone, its release named
# per package as for the engine above.
if ! command -v cosign >/dev/null; then
  add_trixie
  log "installing from Debian trixie: cosign/trixie (nothing else from trixie)"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq cosign/trixie >/dev/null
fi

# 2. The Docker daemon.
if ! docker info >/dev/null 2>&1; then
  # Containers get the MTU of the host's route out (1400 on some VMs): with Docker's
  # default 1500, large downloads from a container can stall where ICMP is filtered.
  dev=$(ip route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1); exit}')
  mtu=$(cat "/sys/class/net/${dev:-none}/mtu" 2>/dev/null || echo 1500)
  # More transfer slots than the defaults (5 uploads, 3 downloads, shared by every push
  # and pull on the daemon): the suite runs pushes and pulls from several files at once,
  # and interrupts some of them on purpose.
  log "starting dockerd, MTU $mtu (log: /tmp/dockerd.log)"
  $SUDO sh -c "nohup dockerd --mtu $mtu --max-concurrent-uploads 16 --max-concurrent-downloads 8 >/tmp/dockerd.log 2>&1 &"
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { log "dockerd did not start; see /tmp/dockerd.log"; tail -20 /tmp/dockerd.log >&2; exit 1; }
fi

have() { docker image inspect "$1" >/dev/null 2>&1; }
try_pull() { timeout 60 docker pull -q "$1" >/dev/null 2>&1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
ca=/etc/ssl/certs/ca-certificates.crt

# 3. debian:bookworm-slim: pulled, or a minbase debootstrap imported.
if ! have debian:bookworm-slim && ! try_pull debian:bookworm-slim; then
  log "seeding debian:bookworm-slim with debootstrap from $mirror (about a minute)"
  $SUDO debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  # Make it the slim image Docker Hub ships (debuerreotype's minimizing config and its
  # slimify step), so that layers built on it weigh what they would on a real runner:
  # apt caches and downloaded .debs removed after every install, no translations, dpkg
  # without sync(), and no docs (copyright files aside), man pages or locales, now or later.
  r="$work/rootfs"
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$r/usr/sbin/policy-rc.d" >/dev/null
  $SUDO chmod 0755 "$r/usr/sbin/policy-rc.d"
  printf 'force-unsafe-io\n' | $SUDO tee "$r/etc/dpkg/dpkg.cfg.d/docker-apt-speedup" >/dev/null
  clean='"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true";'
  printf 'DPkg::Post-Invoke { %s };\nAPT::Update::Post-Invoke { %s };\nDir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n' "$clean" "$clean" \
    | $SUDO tee "$r/etc/apt/apt.conf.d/docker-clean" >/dev/null
  echo 'Acquire::GzipIndexes "true";' | $SUDO tee "$r/etc/apt/apt.conf.d/docker-gzip-indexes" >/dev/null
  echo 'Acquire::Languages "none";' | $SUDO tee "$r/etc/apt/apt.conf.d/docker-no-languages" >/dev/null
  echo 'Apt::AutoRemove::SuggestsImportant "false";' | $SUDO tee "$r/etc/apt/apt.conf.d/docker-autoremove-suggests" >/dev/null
  slim="doc groff info linda lintian/overrides locale man"
  { for d in $slim; do echo "path-exclude /usr/share/$d/*"; done
    echo 'path-include /usr/share/doc/*/copyright'
    echo 'path-include /usr/share/locale/locale.alias'
  } | $SUDO tee "$r/etc/dpkg/dpkg.cfg.d/docker" >/dev/null
  for d in $slim; do
    if [ -d "$r/usr/share/$d" ]; then $SUDO find "$r/usr/share/$d" -mindepth 1 ! -type d ! -name copyright ! -name locale.alias -delete; fi
  done
  $SUDO rm -rf "$r/var/lib/apt/lists/"* "$r/var/cache/apt/"*.bin "$r/var/cache/apt/archives/"*.deb
  $SUDO tar -C "$work/rootfs" -c . | docker import -c 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
  $SUDO rm -rf "$work/rootfs"
fi

# 4. node:20-bookworm-slim: pulled, or the host's Node.js on debian:bookworm-slim,
#    with the host's CA bundle so npm works through this network's TLS proxy.
if ! have node:20-bookworm-slim && ! try_pull node:20-bookworm-slim; then
  log "seeding node:20-bookworm-slim from the host's $(node --version)"
  mkdir -p "$work/node/bin" "$work/node/lib/node_modules"
  cp "$(readlink -f "$(command -v node)")" "$work/node/bin/node"
  npm_root=$(npm root -g)
  cp -r "$npm_root/npm" "$work/node/lib/node_modules/npm"
  cp "$ca" "$work/ca-certificates.crt"
  cat >"$work/Dockerfile" <<'DOCKERFILE'
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libstdc++6 ca-certificates git \
 && rm -rf /var/lib/apt/lists/*
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY node/ /usr/local/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
DOCKERFILE
  DOCKER_BUILDKIT=0 docker build -q -t node:20-bookworm-slim "$work" >/dev/null 2>"$work/build.log" \
    || { tail -20 "$work/build.log" >&2; exit 1; }
fi

# 5. busybox: a tiny shell image for fast tests (pulled, or the host's static busybox).
if ! have busybox:latest && ! try_pull busybox:latest; then
  log "seeding busybox:latest from the host's static busybox"
  mkdir -p "$work/bb/bin"
  cp /bin/busybox "$work/bb/bin/busybox"
  printf 'FROM scratch\nCOPY bin/ /bin/\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nCMD ["sh"]\n' >"$work/bb/Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q -t busybox:latest "$work/bb" >/dev/null 2>"$work/build.log" \
    || { tail -20 "$work/build.log" >&2; exit 1; }
fi

# 6. examples/go-app's toolchain layer (Go from Debian's packages, ~800 MB) in the layer
#    caches of BOTH builders: the suite's go-app test files then share one cached layer
#    instead of each downloading and installing Go at the same time, under BuildKit (the
#    default) and in the legacy builder's run (DOCKER_BUILDKIT=0). The two builders keep
#    separate caches: each is warmed. The legacy builder's is the image itself, tagged by
#    the Dockerfile's hash (an edited Dockerfile.build is built anew); BuildKit's is its
#    build cache, which a build that is already cached confirms in seconds. The tests'
#    builds still run; they are cache hits. (The pipeline benchmark builds with
#    --no-cache and a layer unique to its run, unaffected.)
example="$(cd "$(dirname "$0")/.." && pwd)/examples/go-app"
if [ -f "$example/Dockerfile.build" ]; then
  warm="cbs-cache/go-app-toolchain:$(git hash-object "$example/Dockerfile.build")"
  for builder in legacy buildkit; do
    if [ "$builder" = legacy ]; then ref=$warm; buildkit=0; else ref=$warm-buildkit; buildkit=1; fi
    started=$SECONDS
    if [ "$builder" = legacy ] && have "$ref"; then continue; fi
    have "$ref" || log "building examples/go-app's toolchain layer with the $builder builder (Go from Debian's mirror; a minute or two)"
    DOCKER_BUILDKIT=$buildkit docker build -q -t "$ref" -f "$example/Dockerfile.build" "$example" >/dev/null 2>"$work/build.log" \
      || { tail -20 "$work/build.log" >&2; exit 1; }
    log "  go-app toolchain, $builder builder: ready in $((SECONDS - started)) s"
  done
fi

# 7. With --containerd-store: a second Docker daemon beside the first, with the containerd
#    image store (the default of Engine 29 fresh installs and Docker Desktop), for
#    `npm run test:containerd-store`. Everything of its own: socket, data root, exec root
#    (its managed containerd lives there, with its own socket and runc root), pidfile,
#    config, and a bridge device, cbs-ctrd0; never `--bridge none`, which makes dockerd
#    delete docker0 and breaks every container of the first daemon. No iptables rules:
#    they are the first daemon's; containers of this one reach the host's loopback
#    registries with --network host, as on the first. The base images are copied from
#    the first daemon (docker save | docker load).
if [ "$containerd_store" = 1 ]; then
  ctrd_run=/run/cbs-containerd
  ctrd_host="unix://$ctrd_run/docker.sock"
  ctrd() { DOCKER_HOST=$ctrd_host docker "$@"; }
  if ! ctrd info >/dev/null 2>&1; then
    $SUDO mkdir -p "$ctrd_run" /var/lib/cbs-containerd
    if ! ip link show cbs-ctrd0 >/dev/null 2>&1; then
      $SUDO ip link add cbs-ctrd0 type bridge
      $SUDO ip addr add 172.31.213.1/24 dev cbs-ctrd0
      $SUDO ip link set cbs-ctrd0 up
    fi
    echo '{"features": {"containerd-snapshotter": true}}' | $SUDO tee "$ctrd_run/daemon.json" >/dev/null
    dev=$(ip route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1); exit}')
    mtu=$(cat "/sys/class/net/${dev:-none}/mtu" 2>/dev/null || echo 1500)
    log "starting a second dockerd with the containerd image store on $ctrd_host (log: /tmp/dockerd-containerd.log)"
    $SUDO sh -c "nohup dockerd -H $ctrd_host --config-file $ctrd_run/daemon.json --data-root /var/lib/cbs-containerd --exec-root $ctrd_run/exec --pidfile $ctrd_run/dockerd.pid --bridge cbs-ctrd0 --iptables=false --ip6tables=false --mtu $mtu --max-concurrent-uploads 16 --max-concurrent-downloads 8 >/tmp/dockerd-containerd.log 2>&1 &"
    for _ in $(seq 1 60); do ctrd info >/dev/null 2>&1 && break; sleep 1; done
    ctrd info >/dev/null 2>&1 || { log "the second dockerd did not start; see /tmp/dockerd-containerd.log"; tail -20 /tmp/dockerd-containerd.log >&2; exit 1; }
  fi
  driver=$(ctrd info --format '{{range .DriverStatus}}{{if eq (index . 0) "driver-type"}}{{index . 1}}{{end}}{{end}}')
  [ "$driver" = io.containerd.snapshotter.v1 ] || { log "the daemon on $ctrd_host does not use the containerd image store (driver-type: ${driver:-none})"; exit 1; }
  missing=()
  for image in debian:bookworm-slim node:20-bookworm-slim busybox:latest; do
    ctrd image inspect "$image" >/dev/null 2>&1 || missing+=("$image")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "copying ${missing[*]} into the containerd store"
    docker save "${missing[@]}" | ctrd load -q >/dev/null
  fi
  log "containerd image store ready: DOCKER_HOST=$ctrd_host ($(ctrd version --format 'Docker Engine {{.Server.Version}}'))"
fi

log "test environment ready: $(docker version --format 'Docker Engine {{.Server.Version}}'), $(docker buildx version 2>/dev/null | awk '{print "buildx " $2}'), $(docker-registry --version 2>/dev/null | head -1)"
