#!/usr/bin/env bash
# Regenerate requirements.lock: the runtime dependency closure of pyproject.toml, pinned to the versions
# installed in .venv (the versions the test suite ran with), with the sha256 of every published file so
# the image build installs with --require-hashes. Run from anywhere after changing dependencies:
#   bash deploy/lock.sh
# Needs PyPI (pip-tools is installed into a throwaway venv under ${TMPDIR:-/tmp}; the project's .venv is
# left as it is).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${TMPDIR:-/tmp}/monitor-lock"
tools="$work/venv"
freeze="$work/venv-freeze.txt"

mkdir -p "$work"
if [[ ! -x "$tools/bin/pip-compile" ]]; then
  python3 -m venv "$tools"
  # pip >= 25: older resolvers trip over lxml[html-clean] being requested twice.
  "$tools/bin/pip" install --quiet "pip>=25" "pip-tools>=7.4"
fi

# Constrain every package to the version the project's .venv has, so the lock matches what was tested.
"$root/.venv/bin/pip" freeze --exclude-editable >"$freeze"

cd "$root"
CUSTOM_COMPILE_COMMAND="bash deploy/lock.sh" "$tools/bin/pip-compile" --quiet --generate-hashes \
  --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links \
  --constraint "$freeze" --output-file requirements.lock pyproject.toml
# The constraint file is an implementation detail of this script; keep it out of the "via" comments.
sed -i -e "\|^    #   -c .*venv-freeze.txt$|d" -e "s|^    # via -c .*venv-freeze.txt$|    # via constraints|" \
  requirements.lock
echo "wrote $root/requirements.lock ($(grep -c '==' requirements.lock) packages)"
