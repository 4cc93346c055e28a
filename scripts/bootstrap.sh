#!/usr/bin/env bash
# Set up the project's virtual environment with a Python >= 3.12, then run a command in it.
#   bash scripts/bootstrap.sh run [hydra overrides...]   # python -m sim run ...
#   bash scripts/bootstrap.sh test [pytest args...]      # the test suite
#   bash scripts/bootstrap.sh env                        # set up only; prints the interpreter
# The interpreter is found in this order: $SIM_PYTHON; python3.12, 3.13, 3.14 and python3 on the
# PATH; pyenv's installed versions, oldest >= 3.12 first (called by path: a pyenv shim fails unless PYENV_VERSION is set).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
venv="${SIM_VENV:-$here/.venv}"

usable() {  # prints the interpreter's path if it runs and is >= 3.12
  "$1" -c 'import sys; assert sys.version_info >= (3, 12); print(sys.executable)' 2>/dev/null
}

find_python() {
  local c
  for c in ${SIM_PYTHON:-} python3.12 python3.13 python3.14 python3; do
    command -v "$c" >/dev/null 2>&1 && usable "$c" && return 0
  done
  local root="${PYENV_ROOT:-$HOME/.pyenv}"
  command -v pyenv >/dev/null 2>&1 && root="$(pyenv root)"
  for c in $(ls -d "$root"/versions/3.1[2-9]* 2>/dev/null | sort -V); do  # 3.12 first: what CI tests
    [ -x "$c/bin/python3" ] && usable "$c/bin/python3" && return 0
  done
  return 1
}

if [ ! -x "$venv/bin/python" ] || ! usable "$venv/bin/python" >/dev/null; then
  py="$(find_python)" || { echo "bootstrap: no Python >= 3.12 found (set SIM_PYTHON=/path/to/python3.12)" >&2; exit 1; }
  echo "bootstrap: creating $venv with $py" >&2
  rm -rf "$venv"
  "$py" -m venv "$venv"
fi
stamp="$venv/.installed-$(cat pyproject.toml | cksum | cut -d' ' -f1)"
if [ ! -f "$stamp" ]; then
  "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
  "$venv/bin/python" -m pip install --quiet -e ".[test]" >&2
  rm -f "$venv"/.installed-* && touch "$stamp"
fi

cmd="${1:-env}"; shift || true
case "$cmd" in
  run)  exec "$venv/bin/python" -m sim run "$@" ;;
  test) exec "$venv/bin/python" -m pytest "$@" ;;
  env)  echo "$venv/bin/python" ;;
  *)    echo "bootstrap: unknown command '$cmd' (allowed: run, test, env)" >&2; exit 2 ;;
esac
