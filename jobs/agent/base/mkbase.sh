#!/usr/bin/env bash
# Build the base image `mate-base:bookworm` from scratch: debootstrap (minbase) into a temporary
# folder, bring it up to date from the security and updates suites, strip documentation and
# caches, then `docker import` it with the recipe hash as a label.
#
# Usage: mkbase.sh IMAGE RECIPE_HASH CACHE_DIR
# The Debian mirror is read from this machine's apt sources at run time (override with
# MATE_DEBIAN_MIRROR / MATE_DEBIAN_SECURITY_MIRROR). Needs root and debootstrap.
set -euo pipefail

image=$1
recipe=$2
cache=$3

suite=bookworm
# git for the clone, ca-certificates for https remotes, busybox-static for the agent runtime
# (/opt/mate/bin/busybox: sh, wget, awk, base64 that do not depend on the chosen image).
packages=git,ca-certificates,busybox-static

say() { printf 'mkbase: %s\n' "$*" >&2; }

# All apt sources of this machine as "URI SUITE" pairs, one-line and deb822 formats.
apt_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } print $i, $(i + 1) }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk '
      function flush() { if (deb) for (u in uris) for (s in suites) print u, s
                         deb = 0; delete uris; delete suites }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
      tolower($1) == "uris:" { for (i = 2; i <= NF; i++) uris[$i] = 1 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) suites[$i] = 1 }
      END { flush() }' "$f"
  done
}

mirror_for() {  # the first URI that serves suite $1
  apt_sources | awk -v s="$1" '$2 == s { print $1; exit }'
}

mirror=${MATE_DEBIAN_MIRROR:-$(mirror_for "$suite")}
security=${MATE_DEBIAN_SECURITY_MIRROR:-$(mirror_for "$suite-security")}
if [ -z "$mirror" ]; then
  say "no apt source for Debian '$suite' in /etc/apt/sources.list*; set MATE_DEBIAN_MIRROR"
  exit 1
fi
command -v debootstrap >/dev/null || { say "debootstrap is not installed"; exit 1; }

work=$(mktemp -d /var/tmp/mate-base.XXXXXX)
root=$work/rootfs
cleanup() {
  mountpoint -q "$root/proc" 2>/dev/null && umount "$root/proc"
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$cache/debs"
say "debootstrap --variant=minbase $suite (packages: $packages)"
if ! debootstrap --variant=minbase --include="$packages" --cache-dir="$cache/debs" \
  "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
  tail -n 30 "$work/debootstrap.log" >&2
  [ -f "$root/debootstrap/debootstrap.log" ] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
  say "debootstrap failed"
  exit 1
fi

# Security and point-release updates (debootstrap only reads the release suite).
{
  echo "deb $mirror $suite main"
  echo "deb $mirror $suite-updates main"
  [ -n "$security" ] && echo "deb $security $suite-security main"
} >"$root/etc/apt/sources.list"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
say "apt-get upgrade from $suite-updates and $suite-security"
if ! chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
  sh -c 'apt-get -qq update && apt-get -qq -y upgrade && apt-get -qq clean' >"$work/upgrade.log" 2>&1; then
  tail -n 30 "$work/upgrade.log" >&2
  say "apt-get upgrade in the new root failed"
  exit 1
fi
umount "$root/proc"

# Slim down: caches, lists, logs, documentation (licences kept), man pages, translations.
rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/cache/debconf/*-old \
  "$root"/var/log/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
  "$root"/usr/share/locale/* "$root"/usr/share/lintian "$root"/debootstrap
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
: >"$root/etc/resolv.conf"
: >"$root/etc/hostname"

say "docker import $image"
tar --numeric-owner --xattrs -C "$root" -c . | docker import \
  --change "LABEL org.mate.recipe=$recipe" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  - "$image" >/dev/null
