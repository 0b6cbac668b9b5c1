#!/usr/bin/env bash
# Build llama-cpp-python (the offline model's runtime) from source for one instruction-set
# baseline, keep the wheel under <venv>/wheels/<build>/, and install it into the venv.
#
#   scripts/install-llama.sh <venv> <portable|native>
#
# The flags of each build (portable: x86-64-v3; native: -march=native) and why: see
# scripts/llama-cmake-args.sh, which the Dockerfile's server image uses too.
#
# The build takes 3-6 minutes on 2 cores, once per build flavour: the wheel is kept, so switching
# back and forth only reinstalls it. pip's own wheel cache is bypassed on purpose: it keys wheels
# by version, not by compiler flags, and would hand a native build back as "portable".
set -euo pipefail

venv=${1:?usage: install-llama.sh <venv> <portable|native>}
build=${2:?usage: install-llama.sh <venv> <portable|native>}
here=$(cd "$(dirname "$0")/.." && pwd)

cmake_args=$(bash "$here/scripts/llama-cmake-args.sh" "$build")

version=$(sed -n 's/^llama[-_]cpp[-_]python==//Ip' "$here/requirements.lock")
[ -n "$version" ] || { echo "kopichat: requirements.lock pins no llama-cpp-python" >&2; exit 2; }
marker="$venv/.llama-build"
wanted="$build $version"
if [ "$(cat "$marker" 2>/dev/null)" = "$wanted" ] && "$venv/bin/python" -c 'import llama_cpp' 2>/dev/null; then
  exit 0
fi

wheels="$venv/wheels/$build"
wheel=$(ls "$wheels"/llama_cpp_python-"$version"-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
  echo "kopichat: building llama-cpp-python $version ($build build; 3-6 minutes on 2 cores)"
  mkdir -p "$wheels"
  log="$wheels/build.log"
  if ! CMAKE_ARGS="$cmake_args" "$venv/bin/python" -m pip wheel --no-cache-dir --no-deps \
      --no-binary llama-cpp-python --wheel-dir "$wheels" "llama-cpp-python==$version" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "kopichat: building llama-cpp-python failed; the whole log is in $log" >&2
    exit 1
  fi
  wheel=$(ls "$wheels"/llama_cpp_python-"$version"-*.whl | head -n 1)
fi
"$venv/bin/python" -m pip install --quiet --no-deps --force-reinstall "$wheel"
echo "$wanted" >"$marker"
echo "kopichat: llama-cpp-python $version installed ($build build)"
