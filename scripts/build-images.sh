#!/usr/bin/env bash
# Build the tool images from dockerfiles/. Without Docker Hub the default base
# (python:3.12-slim) cannot be pulled, so unless BASE_IMAGE is given or already present
# a local stand-in is made with debootstrap: Debian bookworm + python3 + pip.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\033[1m[images]\033[0m %s\n' "$*" >&2; }

local_base=saber/debian-python:bookworm
if [ -z "${BASE_IMAGE:-}" ]; then
  if docker image inspect python:3.12-slim >/dev/null 2>&1; then
    BASE_IMAGE=python:3.12-slim
  else
    BASE_IMAGE=$local_base
    if ! docker image inspect "$local_base" >/dev/null 2>&1; then
      log "building $local_base with debootstrap (about a minute)"
      rootfs=$(mktemp -d /tmp/saber-rootfs.XXXX)
      debootstrap --variant=minbase --include=python3,python3-pip,ca-certificates \
        bookworm "$rootfs" http://deb.debian.org/debian >/tmp/saber-debootstrap.log 2>&1
      # pip inside image builds must trust the same CAs as this host (it may sit behind a proxy).
      cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
      ln -sf python3 "$rootfs/usr/bin/python"
      rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
      tar -C "$rootfs" -c . | docker import \
        -c 'ENV PIP_BREAK_SYSTEM_PACKAGES=1' -c 'ENV PIP_ROOT_USER_ACTION=ignore' \
        -c 'ENV LANG=C.UTF-8' -c 'CMD ["/bin/bash"]' - "$local_base" >/dev/null
      rm -rf "$rootfs"
    fi
  fi
fi

# The images themselves: the registry's own build (saber tools build), on that base.
export BASE_IMAGE
log "tool images on $BASE_IMAGE"
saber=.venv/bin/saber  # scripts/setup.sh makes it; a developer's own venv may be on PATH instead
[ -x "$saber" ] || saber=$(command -v saber) || { log "no saber command: run scripts/setup.sh"; exit 1; }
"$saber" tools build --all ${SABER_REBUILD:+--force}
