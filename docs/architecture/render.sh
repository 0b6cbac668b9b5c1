#!/usr/bin/env bash
# Regenerate the architecture pictures from their .dot sources (graphviz: apt-get install graphviz).
#   docs/architecture/render.sh
set -euo pipefail
cd "$(dirname "$0")"
command -v dot >/dev/null || { echo "render.sh: graphviz 'dot' is missing (apt-get install graphviz)" >&2; exit 1; }
for source in *.dot; do
  dot -Tpng -Gdpi=110 "$source" -o "${source%.dot}.png"
  echo "render.sh: ${source%.dot}.png"
done
