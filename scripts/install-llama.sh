#!/usr/bin/env bash
# Build llama-cpp-python (the offline model's runtime) from source for one instruction-set
# baseline, keep the wheel under <venv>/wheels/<build>/, and install it into the venv.
#
#   scripts/install-llama.sh <venv> <portable|native>
#
# portable (the default of `make install`): x86-64-v3, i.e. SSE4.2, AVX, AVX2, FMA, F16C and BMI2,
#   and nothing newer. Every x86-64 server CPU since Intel Haswell (2013) and AMD Zen (2017) has
#   these, so one build runs on AMD EPYC and on Intel Xeon alike. AVX-512 and AMX stay off: they
#   are what a native build adds on a Xeon, and such a build crashed on its first token in a VM
#   whose CPU reported them. llama.cpp's runtime CPU dispatch (GGML_BACKEND_DL with
#   GGML_CPU_ALL_VARIANTS) is not used: llama-cpp-python never loads backend libraries, so the
#   model would find no CPU backend. The flags are spelled out rather than left to GGML_NATIVE=OFF,
#   whose defaults drop even AVX when SOURCE_DATE_EPOCH is set. On ARM the x86 flags are ignored
#   and the build targets the generic ARMv8 baseline.
# native (opt-in, KOPICHAT_LLAMA_BUILD=native): -march=native, for speed on this machine only.
#   Never ship or share it: it may crash on another CPU.
#
# The build takes 3-6 minutes on 2 cores, once per build flavour: the wheel is kept, so switching
# back and forth only reinstalls it. pip's own wheel cache is bypassed on purpose: it keys wheels
# by version, not by compiler flags, and would hand a native build back as "portable".
set -euo pipefail

venv=${1:?usage: install-llama.sh <venv> <portable|native>}
build=${2:?usage: install-llama.sh <venv> <portable|native>}
here=$(cd "$(dirname "$0")/.." && pwd)

case "$build" in
  portable)
    cmake_args="-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON"
    cmake_args+=" -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF"
    cmake_args+=" -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF"
    cmake_args+=" -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
    ;;
  native) cmake_args="-DGGML_NATIVE=ON" ;;
  *)
    echo "kopichat: KOPICHAT_LLAMA_BUILD must be 'portable' or 'native', not '$build'" >&2
    exit 2
    ;;
esac

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
