#!/usr/bin/env bash
# `make chart-check`: lint, render, validate and scan charts/tongxin offline (no cluster,
# no helm binary, no Rust build). The tools live in a venv of their own under
# ${TONGXIN_TOOLS_DIR:-~/.cache/tongxin/tools}/chart-venv, reinstalled when
# scripts/chart-requirements.txt changes. The checks themselves: scripts/chart-check.py.
set -euo pipefail
cd "$(dirname "$0")/.."

tools=${TONGXIN_TOOLS_DIR:-$HOME/.cache/tongxin/tools}
venv=$tools/chart-venv
stamp=$venv/.requirements.sha256
want=$(sha256sum scripts/chart-requirements.txt | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "chart-check: installing the pinned tools into $venv"
  rm -rf "$venv"
  mkdir -p "$tools"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/chart-requirements.txt
  echo "$want" > "$stamp"
fi
exec "$venv/bin/python" scripts/chart-check.py "$@"
