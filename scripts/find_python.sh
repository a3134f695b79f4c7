#!/usr/bin/env bash
# Print a working interpreter of Python $1 (e.g. 3.13) found on this machine, or nothing:
# on PATH as python$1, else under pyenv, else in the usual install prefixes.
set -u
version=$1
candidates=("python$version")
if command -v pyenv >/dev/null 2>&1; then
    candidates+=("$(pyenv root)"/versions/"$version".*/bin/"python$version")
fi
candidates+=(/usr/local/bin/"python$version" /usr/bin/"python$version" /opt/homebrew/bin/"python$version")
for candidate in "${candidates[@]}"; do
    if "$candidate" -c 'import sys, venv' >/dev/null 2>&1; then
        command -v "$candidate" 2>/dev/null || echo "$candidate"
        exit 0
    fi
done
