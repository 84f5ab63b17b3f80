#!/usr/bin/env bash
# Install (if missing) and start (if stopped) a local Docker engine, then wait until it answers.
# Idempotent: safe to run on a machine where the engine is already up.
set -euo pipefail

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker-compose >/dev/null 2>&1; then
  echo "docker-engine: installing Debian's docker.io and docker-compose"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io docker-compose >/dev/null
fi
if docker info >/dev/null 2>&1; then
  echo "docker-engine: already running"
  exit 0
fi
if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "docker-engine: starting dockerd"
  mkdir -p /var/log
  nohup dockerd >/var/log/dockerd.log 2>&1 &
fi
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "docker-engine: ready ($(docker version --format '{{.Server.Version}}'))"
    exit 0
  fi
  sleep 1
done
echo "docker-engine: dockerd did not answer within 60 s; last log lines:" >&2
tail -n 30 /var/log/dockerd.log >&2 || true
exit 1
