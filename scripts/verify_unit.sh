#!/usr/bin/env bash
# `systemd-analyze verify` of deploy/agentregistry.service, with /opt/agentregistry read as
# this checkout (verify insists that ExecStart's binary exists). Skipped without systemd.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "systemd-analyze not found: the unit is not verified here"
    exit 0
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
sed "s#/opt/agentregistry#$root#g" "$root/deploy/agentregistry.service" > "$scratch/agentregistry.service"
systemd-analyze verify "$scratch/agentregistry.service"
