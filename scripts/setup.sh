#!/usr/bin/env bash
# One-shot, idempotent set-up of a fresh Debian 12 machine (as root) for saber:
# Debian packages, a Docker engine, the virtualenv in .venv, and the tool images.
# Safe to run again: every step checks whether it is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

need_pkgs=()
command -v dockerd >/dev/null || need_pkgs+=(docker.io)
command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
# PostgreSQL server binaries: the results-store tests start a throw-away cluster with them.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need_pkgs+=(postgresql)
# Redis, the broker of a CeleryExecutor deployment (scripts/airflow-deployment.sh EXECUTOR=celery,
# tests/celery_deployment.py): only the binary is used, each deployment starts its own server.
command -v redis-server >/dev/null || need_pkgs+=(redis-server)
# Headless Chromium and its WebDriver: the Studies page's browser test and bench/p11 drive them.
[ -x /usr/bin/chromium ] || need_pkgs+=(chromium)
[ -x /usr/bin/chromedriver ] || need_pkgs+=(chromium-driver)
if ((${#need_pkgs[@]})); then
  log "installing Debian packages: ${need_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# Docker engine: reuse one that answers; otherwise start one. The bridge is disabled
# because this machine may not create bridge networks; cwltool runs with --network none.
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  nohup dockerd --bridge=none --iptables=false --ip-masq=false >/var/log/saber-dockerd.log 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { log "dockerd did not start; see /var/log/saber-dockerd.log"; exit 1; }
fi

if [ ! -x .venv/bin/saber ] || [ setup.cfg -nt .venv/.installed ]; then
  log "creating virtualenv .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[test]'
  touch .venv/.installed
fi

bash scripts/build-images.sh
bash scripts/conformance-images.sh
log "ready"
