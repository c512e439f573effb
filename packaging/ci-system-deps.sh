#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the tests start for real:
#   - dbus + gnome-keyring: a private Secret Service for the keychain tests (tests/integration/test_keyring.py);
#   - xvfb + trayer + Qt's xcb libraries: a real X server with a system-tray host for the desktop app's tests
#     (tests/ui/test_x11_app.py), and the fonts Qt draws text with.
# Idempotent: installs only what is missing, non-interactively, with sudo when not root.
# Set DESKMATE_SKIP_KEYCHAIN_TESTS=1 / DESKMATE_SKIP_X11_TESTS=1 instead to skip those tests.
set -euo pipefail

wanted=(
    dbus gnome-keyring
    xvfb trayer xauth xdotool
    libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
    libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libegl1 libgl1 libfontconfig1 libdbus-1-3 fonts-dejavu-core
)

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "ci-system-deps: not a Debian-like system; install these with your package manager: ${wanted[*]}" >&2
    exit 0
fi
missing=()
for package in "${wanted[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ci-system-deps: missing ${missing[*]}, and there is no apt-get to install them with" >&2
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
