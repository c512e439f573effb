#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the tests need: dbus (dbus-daemon) and gnome-keyring (gnome-keyring-daemon),
# which tests/integration/test_keyring.py runs as a private Secret Service. Idempotent: installs only what is
# missing, non-interactively, with sudo when not root. Set DESKMATE_SKIP_KEYCHAIN_TESTS=1 instead to skip those tests.
set -euo pipefail

# program the tests run -> Debian package that provides it
declare -A packages=([dbus-daemon]=dbus [gnome-keyring-daemon]=gnome-keyring)

missing=()
for program in "${!packages[@]}"; do
    if ! command -v "$program" >/dev/null 2>&1; then
        missing+=("${packages[$program]}")
    fi
done
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ci-system-deps: missing ${missing[*]}, and there is no apt-get to install them with;" \
        "install them with your package manager (or set DESKMATE_SKIP_KEYCHAIN_TESTS=1)" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "ci-system-deps: installing ${missing[*]} needs root, and sudo is not available" >&2
        exit 1
    fi
    sudo="sudo"
fi

echo "ci-system-deps: installing ${missing[*]}" >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
