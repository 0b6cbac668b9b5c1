#!/usr/bin/env bash
# The CMake flags for one llama.cpp build of llama-cpp-python, printed on one line. Used by
# scripts/install-llama.sh (`make install`) and by the Dockerfile's server image, so that both
# build for the same instruction-set baseline.
#
#   scripts/llama-cmake-args.sh <portable|native>
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
set -euo pipefail

case "${1:?usage: llama-cmake-args.sh <portable|native>}" in
  portable)
    echo "-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON" \
      "-DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF" \
      "-DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF" \
      "-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
    ;;
  native) echo "-DGGML_NATIVE=ON" ;;
  *)
    echo "kopichat: KOPICHAT_LLAMA_BUILD must be 'portable' or 'native', not '$1'" >&2
    exit 2
    ;;
esac
