#!/usr/bin/env bash
# Build Mate's agent images from scratch (no image registry), each only when its recipe changed:
#
#   mate-base:bookworm      Debian bookworm minbase + git, ca-certificates, busybox-static
#                           (base/mkbase.sh: debootstrap, then `docker import`)
#   mate-agent:latest       the default agent image: the runtime under /opt/mate (bootstrap,
#                           static busybox, claude-code's native executable), user 1000
#   mate-test-agent:latest  a ~2 MB image for tests: static busybox and a scripted stand-in
#                           agent at /opt/mate/bin/mate-agent (test-image/mate-agent)
#
# Usage: jobs/agent/build.sh [all|base|agent|test]      (default: all)
# Each image carries the label org.mate.recipe, a hash of what it is built from; an image whose
# label matches is kept as it is. MATE_AGENT_REBUILD=1 rebuilds regardless (e.g. to take Debian
# security updates). Downloads are cached in MATE_AGENT_CACHE (default ~/.cache/mate-agent).
# Needs: a Docker engine, root for debootstrap (installed with apt-get when missing), npm.
set -euo pipefail

# claude-code, pinned: the version and the sha256 of its linux-x64 npm tarball.
CLAUDE_CODE_VERSION=2.1.197
CLAUDE_CODE_SHA256=42b12aa7a1d57d9f48b49acecca37643a81528ad873629e0fc5f043730621b14
CLAUDE_CODE_PACKAGE=@anthropic-ai/claude-code-linux-x64

BASE_IMAGE=mate-base:bookworm
AGENT_IMAGE=mate-agent:latest
TEST_IMAGE=mate-test-agent:latest
LABEL=org.mate.recipe

here=$(cd "$(dirname "$0")" && pwd)
cache=${MATE_AGENT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mate-agent}
what=${1:-all}
mkdir -p "$cache"

started=$SECONDS
say() { printf 'build.sh: %s\n' "$*" >&2; }
took() { printf '%ss' "$((SECONDS - $1))"; }

# sha256 of the named files and folders (paths and contents), plus any extra words.
recipe_of() {
  local extra=$1
  shift
  {
    printf '%s\n' "$extra"
    (cd "$here" && find "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -c1-64
}

label_of() { docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }
id_of() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }
size_of() { docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1e6 }'; }

# An image that lost its tag to a rebuild is removed when nothing uses it any more.
drop_old() {
  local old=$1 new
  new=$(id_of "$2")
  if [ -n "$old" ] && [ "$old" != "$new" ]; then
    docker image rm "$old" >/dev/null 2>&1 || true
  fi
}

needs_build() {  # needs_build IMAGE RECIPE
  [ "${MATE_AGENT_REBUILD:-0}" = 1 ] || [ "$(label_of "$1")" != "$2" ]
}

build_base() {
  local recipe t old
  recipe=$(recipe_of "suite=bookworm" base)
  if ! needs_build "$BASE_IMAGE" "$recipe"; then
    say "$BASE_IMAGE is up to date ($(size_of "$BASE_IMAGE"))"
    return
  fi
  if ! command -v debootstrap >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || { say "debootstrap is missing and this is not root"; exit 1; }
    say "installing debootstrap"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends debootstrap >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
  fi
  [ "$(id -u)" = 0 ] || { say "building $BASE_IMAGE needs root (debootstrap)"; exit 1; }
  t=$SECONDS
  old=$(id_of "$BASE_IMAGE")
  bash "$here/base/mkbase.sh" "$BASE_IMAGE" "$recipe" "$cache"
  drop_old "$old" "$BASE_IMAGE"
  say "built $BASE_IMAGE in $(took "$t") ($(size_of "$BASE_IMAGE"))"
}

# The pinned claude-code executable, downloaded once with npm and kept in the cache.
claude_executable() {
  local tgz=$cache/claude-code-linux-x64-$CLAUDE_CODE_VERSION.tgz
  local bin=$cache/claude-code-$CLAUDE_CODE_VERSION/claude tmp
  if [ -x "$bin" ]; then
    printf '%s\n' "$bin"
    return
  fi
  if ! printf '%s  %s\n' "$CLAUDE_CODE_SHA256" "$tgz" | sha256sum -c --status 2>/dev/null; then
    command -v npm >/dev/null 2>&1 || { say "npm is needed to fetch claude-code"; exit 1; }
    say "fetching $CLAUDE_CODE_PACKAGE@$CLAUDE_CODE_VERSION with npm"
    tmp=$(mktemp -d "$cache/npm.XXXXXX")
    if ! (cd "$tmp" && npm pack --silent "$CLAUDE_CODE_PACKAGE@$CLAUDE_CODE_VERSION" >npm.out 2>npm.err); then
      cat "$tmp/npm.err" >&2
      rm -rf "$tmp"
      say "npm pack failed"
      exit 1
    fi
    mv "$tmp"/*.tgz "$tgz"
    rm -rf "$tmp"
    if ! printf '%s  %s\n' "$CLAUDE_CODE_SHA256" "$tgz" | sha256sum -c --status; then
      rm -f "$tgz"
      say "the downloaded claude-code tarball does not match the pinned sha256"
      exit 1
    fi
  fi
  tmp=$(mktemp -d "$cache/unpack.XXXXXX")
  tar -xzf "$tgz" -C "$tmp" package/claude
  mkdir -p "$(dirname "$bin")"
  mv "$tmp/package/claude" "$bin"
  rm -rf "$tmp"
  chmod 0755 "$bin"
  printf '%s\n' "$bin"
}

build_agent() {
  local recipe t old bin ctx
  recipe=$(recipe_of "base=$(id_of "$BASE_IMAGE") claude=$CLAUDE_CODE_VERSION/$CLAUDE_CODE_SHA256" \
    Dockerfile runtime)
  if ! needs_build "$AGENT_IMAGE" "$recipe"; then
    say "$AGENT_IMAGE is up to date ($(size_of "$AGENT_IMAGE"))"
    return
  fi
  t=$SECONDS
  bin=$(claude_executable)
  ctx=$cache/context-agent
  rm -rf "$ctx"
  mkdir -p "$ctx"
  cp "$here/Dockerfile" "$ctx/Dockerfile"
  cp -R "$here/runtime" "$ctx/runtime"
  ln "$bin" "$ctx/claude" 2>/dev/null || cp "$bin" "$ctx/claude"
  chmod -R u=rwX,go=rX "$ctx/runtime"
  chmod 0755 "$ctx/claude" "$ctx"/runtime/bin/*
  old=$(id_of "$AGENT_IMAGE")
  say "docker build $AGENT_IMAGE (claude-code $CLAUDE_CODE_VERSION)"
  docker_build "$ctx" -t "$AGENT_IMAGE" --build-arg "RECIPE=$recipe" \
    --build-arg "CLAUDE_CODE_VERSION=$CLAUDE_CODE_VERSION"
  rm -rf "$ctx"
  drop_old "$old" "$AGENT_IMAGE"
  say "built $AGENT_IMAGE in $(took "$t") ($(size_of "$AGENT_IMAGE"))"
}

build_test() {
  local recipe t old
  recipe=$(recipe_of "base=$(id_of "$BASE_IMAGE")" test-image)
  if ! needs_build "$TEST_IMAGE" "$recipe"; then
    say "$TEST_IMAGE is up to date ($(size_of "$TEST_IMAGE"))"
    return
  fi
  t=$SECONDS
  old=$(id_of "$TEST_IMAGE")
  say "docker build $TEST_IMAGE"
  docker_build "$here/test-image" -t "$TEST_IMAGE" --build-arg "RECIPE=$recipe"
  drop_old "$old" "$TEST_IMAGE"
  say "built $TEST_IMAGE in $(took "$t") ($(size_of "$TEST_IMAGE"))"
}

docker_build() {  # docker_build CONTEXT ARGS...: quiet unless it fails
  local ctx=$1 log
  shift
  log=$(mktemp "$cache/build.XXXXXX.log")
  if ! DOCKER_BUILDKIT=0 docker build --rm --force-rm "$@" "$ctx" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    rm -f "$log"
    say "docker build failed"
    exit 1
  fi
  rm -f "$log"
}

docker info >/dev/null 2>&1 || { say "no Docker engine answers (try: bash .ci/docker-engine.sh)"; exit 1; }
case $what in
  all) build_base; build_agent; build_test ;;
  base) build_base ;;
  agent) build_base; build_agent ;;
  test) build_base; build_test ;;
  *) say "usage: build.sh [all|base|agent|test]"; exit 2 ;;
esac
say "done in $(took "$started")"
