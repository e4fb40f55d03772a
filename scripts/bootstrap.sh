#!/usr/bin/env bash
# Idempotent setup behind `make run` and `make test`:
#   scripts/bootstrap.sh            .venv (Python >= 3.12) with the project installed
#   scripts/bootstrap.sh --browser  also Debian's chromium and Solara's offline page assets
# Re-running costs well under a second unless pyproject.toml or the package layout changed.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'bootstrap: %s\n' "$*"; }
die() { printf 'bootstrap: ERROR: %s\n' "$*" >&2; exit 1; }

browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) browser=1 ;;
    *) die "unknown argument '$arg' (usage: scripts/bootstrap.sh [--browser])" ;;
  esac
done

# True if $1 runs and is Python >= 3.12 (Mesa 3.4+ needs it).
py_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }

# The machines' default python3 is 3.11, and pyenv shims may name versions that are not
# selected here, so try each candidate and keep the real interpreter path, not the shim.
find_python() {
  local c
  for c in python3.12 python3.13 python3 "${PYENV_ROOT:-/root/.pyenv}"/versions/3.1[2-9]*/bin/python3; do
    if py_ok "$c"; then
      "$c" -c 'import sys; print(sys.executable)'
      return 0
    fi
  done
  return 1
}

venv=.venv
if [ -x "$venv/bin/python" ] && py_ok "$venv/bin/python"; then
  :
else
  python=$(find_python) || die "no Python >= 3.12 found (tried python3.12, python3.13, python3 and \
${PYENV_ROOT:-/root/.pyenv}/versions/3.1[2-9]*). Install Python 3.12 \
or newer with venv support (e.g. 'pyenv install 3.12'; Debian 12's apt has only 3.11), then re-run."
  if [ -e "$venv" ]; then
    say "removing $venv (its Python is missing or older than 3.12)"
    rm -rf "$venv"
  fi
  say "creating $venv with $python ($("$python" --version 2>&1))"
  "$python" -m venv "$venv"
fi

# pip runs only when pyproject.toml or the package layout changed since the last install.
# The layout counts because the editable install maps each top-level package as it was then:
# a package added later, or one that was an empty folder (namespace) then, goes unseen or
# imports without its __init__.py until pip runs again.
layout() {
  local d
  for d in */; do
    d=${d%/}
    compgen -G "$d/*.py" >/dev/null || continue
    if [ -f "$d/__init__.py" ]; then echo "$d package"; else echo "$d modules"; fi
  done
}
stamp="$venv/.bootstrap-stamp"
want=$({ cat pyproject.toml; layout; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  say "installing the project and its test tools into $venv (about 2 min in a new venv) ..."
  start=$SECONDS
  # The filter drops this machine's pip-config noise (a local index missing some folders).
  "$venv/bin/python" -m pip install --quiet --progress-bar off --disable-pip-version-check -e ".[test]" 2>&1 \
    | { grep -v "^WARNING: Location 'file:.*is ignored" || true; }
  echo "$want" > "$stamp"
  say "installed in $((SECONDS - start)) s"
else
  say "$venv up to date ($("$venv/bin/python" --version))"
fi

if [ "$browser" = 1 ]; then
  # Debian's chromium, driven by Playwright; `playwright install` downloads a browser and
  # cannot work on these machines.
  if [ ! -x /usr/bin/chromium ]; then
    sudo=""
    if [ "$(id -u)" != 0 ]; then
      command -v sudo >/dev/null || die "/usr/bin/chromium is missing and installing it needs root: apt-get install chromium"
      sudo="sudo"
    fi
    say "installing Debian's chromium: apt-get update && apt-get install -y chromium"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    [ -x /usr/bin/chromium ] || die "apt-get finished but /usr/bin/chromium is still missing"
  fi
  say "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo '?')"
  "$venv/bin/python" scripts/fetch_ui_assets.py
fi
say "ready"
