#!/usr/bin/env bash
# Make a Docker engine (and debootstrap, which builds the lab's node image)
# available on this machine, wherever that can be done:
#   1. a daemon already answers            -> use it;
#   2. we are root and have apt            -> install Debian's docker.io and
#      debootstrap if missing, start dockerd in the background, wait for it;
#   3. otherwise                           -> say why and what to do, exit 1.
set -euo pipefail

log() { printf 'ensure-docker: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/convecthub-dockerd.log}
WAIT_SECONDS=${DOCKER_WAIT_SECONDS:-60}

docker_answers() { command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; }

# Prints the Debian packages whose commands are missing, one a line.
missing_packages() {
    command -v dockerd >/dev/null 2>&1 || echo docker.io
    command -v debootstrap >/dev/null 2>&1 || echo debootstrap
}

install_with_apt() {
    local packages=("$@")
    [ "${#packages[@]}" -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "need ${packages[*]} but not root: run 'sudo apt-get install ${packages[*]}' (or run this as root)."
    command -v apt-get >/dev/null 2>&1 || die "need ${packages[*]} and this machine has no apt-get: install them with your package manager."
    log "installing ${packages[*]} from the distribution's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
}

start_dockerd() {
    [ "$(id -u)" -eq 0 ] || die "no Docker daemon answers and we are not root: start Docker ('sudo systemctl start docker') or add your user to the docker group."
    log "starting dockerd in the background (log: $DOCKERD_LOG)"
    nohup dockerd >"$DOCKERD_LOG" 2>&1 &
    local waited=0
    until docker_answers; do
        [ "$waited" -ge "$WAIT_SECONDS" ] && die "dockerd did not answer within ${WAIT_SECONDS}s; last lines of $DOCKERD_LOG:
$(tail -n 20 "$DOCKERD_LOG")"
        sleep 1
        waited=$((waited + 1))
    done
    log "dockerd answers after ${waited}s"
}

if docker_answers; then
    # debootstrap is still needed the first time the node image is built; a
    # machine whose Docker is someone else's may lack it, and may not be ours
    # to change: then only warn.
    if ! command -v debootstrap >/dev/null 2>&1; then
        if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
            install_with_apt debootstrap
        else
            log "warning: debootstrap is missing; building the lab's node image will fail until it is installed"
        fi
    fi
else
    mapfile -t packages < <(missing_packages)
    install_with_apt "${packages[@]}"
    start_dockerd
fi
log "Docker answers: server $(docker version --format '{{.Server.Version}}')"
