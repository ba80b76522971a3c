#!/usr/bin/env bash
# Make this machine able to run the lab and the tests, wherever that can be done:
#   1. install the packages of scripts/provisioner-packages.txt that are missing
#      (needs root and apt; otherwise say which and exit 1);
#   2. start dockerd in the background unless a Docker daemon already answers,
#      and wait (bounded) until it does.
set -euo pipefail
cd "$(dirname "$0")"

log() { printf 'ensure-provisioner: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/convecthub-dockerd.log}
WAIT_SECONDS=${DOCKER_WAIT_SECONDS:-60}

mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' -e 's/[[:space:]]//g' provisioner-packages.txt)
missing=()
for package in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if [ "${#missing[@]}" -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || die "need ${missing[*]} and this is not root: run 'sudo apt-get install ${missing[*]}' (or run this as root)."
    command -v apt-get >/dev/null 2>&1 || die "need ${missing[*]} and this machine has no apt-get: install them with your package manager."
    log "installing ${missing[*]} from the distribution's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

docker_answers() { docker info >/dev/null 2>&1; }

if ! docker_answers; then
    [ "$(id -u)" -eq 0 ] || die "no Docker daemon answers and this is not root: start Docker ('sudo systemctl start docker') or add your user to the docker group."
    log "starting dockerd in the background (log: $DOCKERD_LOG)"
    nohup dockerd >"$DOCKERD_LOG" 2>&1 &
    waited=0
    until docker_answers; do
        [ "$waited" -ge "$WAIT_SECONDS" ] && die "dockerd did not answer within ${WAIT_SECONDS}s; last lines of $DOCKERD_LOG:
$(tail -n 20 "$DOCKERD_LOG")"
        sleep 1
        waited=$((waited + 1))
    done
    log "dockerd answers after ${waited}s"
fi
log "ready: Docker server $(docker version --format '{{.Server.Version}}')"
