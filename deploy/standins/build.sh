#!/usr/bin/env bash
# Build local stand-ins for the public base images that compose.yaml and the Dockerfile name
# (python:3.11-slim, postgres:15, redis:7), from Debian bookworm's packages on top of
# mate-base:bookworm, for machines that reach no image registry (CI here). Each is rebuilt only
# when its recipe (this folder and the base image) changed. An image of that name that is not a
# stand-in (pulled from a registry) is left alone and used as it is.
#
# Usage: deploy/standins/build.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
say() { printf 'standins: %s\n' "$*" >&2; }

docker info >/dev/null 2>&1 || { say "no Docker engine answers (try: bash .ci/docker-engine.sh)"; exit 1; }
bash "$root/jobs/agent/build.sh" base
base_id=$(docker image inspect -f '{{.Id}}' mate-base:bookworm)

label() { docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true; }

build() {  # build NAME FOLDER
  local name=$1 dir=$2 recipe old log t=$SECONDS
  recipe=$( { echo "base=$base_id"; (cd "$here" && find "$dir" -type f -print0 | LC_ALL=C sort -z |
    xargs -0 sha256sum); } | sha256sum | cut -c1-64)
  if docker image inspect "$name" >/dev/null 2>&1 && [ -z "$(label "$name" org.mate.standin)" ]; then
    say "$name is a real image (not a stand-in): kept"
    return
  fi
  if [ "$(label "$name" org.mate.recipe)" = "$recipe" ]; then
    say "$name is up to date"
    return
  fi
  old=$(docker image inspect -f '{{.Id}}' "$name" 2>/dev/null || true)
  log=$(mktemp)
  if ! DOCKER_BUILDKIT=0 docker build --rm --force-rm -t "$name" --build-arg "RECIPE=$recipe" \
    "$here/$dir" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    rm -f "$log"
    say "docker build $name failed"
    exit 1
  fi
  rm -f "$log"
  [ -n "$old" ] && docker image rm "$old" >/dev/null 2>&1 || true
  say "built $name in $((SECONDS - t))s"
}

build python:3.11-slim python
build postgres:15 postgres
build redis:7 redis
