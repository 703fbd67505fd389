#!/usr/bin/env bash
# Local stand-ins for the four images the CWL v1.2 conformance suite pulls. Nothing can be
# pulled here, so each is a tag of the Debian base saber's own images are built on (it has
# bash, sh, python3 and a `python` command). An image that is already present is left alone.
set -euo pipefail
log() { printf '\033[1m[images]\033[0m %s\n' "$*" >&2; }

source_image=""
for candidate in saber/debian-python:bookworm python:3.12-slim; do
  if docker image inspect "$candidate" >/dev/null 2>&1; then source_image=$candidate; break; fi
done
[ -n "$source_image" ] || { log "no base image: run scripts/build-images.sh first"; exit 1; }

for name in debian:stable-slim python:3-slim alpine:latest; do
  if ! docker image inspect "docker.io/$name" >/dev/null 2>&1; then
    log "conformance stand-in docker.io/$name = $source_image"
    docker tag "$source_image" "docker.io/$name"
  fi
done

# The official bash image runs `bash "$@"` when the first argument is an option (`-c ...`);
# the suite's docker_entrypoint test relies on that ENTRYPOINT, so the stand-in has it too.
if ! docker image inspect docker.io/bash:4.4 >/dev/null 2>&1; then
  log "conformance stand-in docker.io/bash:4.4 = $source_image + bash's docker-entrypoint.sh"
  context=$(mktemp -d)
  cat >"$context/docker-entrypoint.sh" <<'SCRIPT'
#!/usr/bin/env bash
set -Eeuo pipefail
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  exec bash "$@"
fi
exec "$@"
SCRIPT
  chmod +x "$context/docker-entrypoint.sh"
  printf '%s\n' "FROM $source_image" 'COPY docker-entrypoint.sh /usr/local/bin/' \
    'ENTRYPOINT ["docker-entrypoint.sh"]' 'CMD ["bash"]' >"$context/Dockerfile"
  docker build -q --network host -t docker.io/bash:4.4 "$context" >/dev/null
  rm -rf "$context"
fi
