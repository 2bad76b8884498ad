#!/usr/bin/env bash
# Creates the project's virtual environment ($VENV, default .venv) from the package registries
# alone. Every version comes from requirements/constraints.txt. Each step says what failed and
# what to do; re-running the script resumes (pip skips what is installed, its cache keeps the
# mmcv wheel built once).
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
C=requirements/constraints.txt
step=""
trap 'echo "setup_env: step \"$step\" failed (exit $?). $hint" >&2' ERR

run() {  # run STEP_NAME HINT -- command...
  step=$1; hint=$2; shift 3
  echo "==> [$(date +%T)] $step"
  "$@"
}

run "create the virtual environment $VENV" \
  "Python 3.11 with venv is needed: set PYTHON=/path/to/python3.11." -- \
  "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install -c "$C")

run "build tools (setuptools < 81, wheel, ninja)" \
  "Check that PyPI is reachable (pip config list)." -- \
  "${PIP[@]}" setuptools wheel ninja pytest-runner numpy

# torch + torchvision through the user's pip configuration. TORCH_INDEX_URL selects a build
# (e.g. https://download.pytorch.org/whl/cu126); tools/misc/torch_choice.py also decides when the
# one known breakage (a local CPU-only torch wheel) needs its fix.
read -r -a TORCH_ARGS <<< "$("$VENV/bin/python" tools/misc/torch_choice.py install-args)"
run "torch + torchvision (${TORCH_ARGS[*]})" \
  "Check that your package index is reachable (pip config list); set TORCH_INDEX_URL for another torch build." -- \
  "${PIP[@]}" "${TORCH_ARGS[@]}"
if ! "$VENV/bin/python" -c "import torchvision" 2> "$VENV/torchvision_error.txt"; then
  cat "$VENV/torchvision_error.txt" >&2
  if FIX=$("$VENV/bin/python" tools/misc/torch_choice.py workaround "$VENV/torchvision_error.txt"); then
    read -r -a FIX_ARGS <<< "$FIX"
    run "torch: the public build instead of a local CPU-only wheel (${FIX_ARGS[*]})" \
      "See pip's message above." -- "${PIP[@]}" "${FIX_ARGS[@]}"
  fi
fi
run "check that torchvision imports" \
  "torch and torchvision do not match: set TORCH_INDEX_URL to a matching build, remove $VENV and re-run." -- \
  "$VENV/bin/python" -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"

# mmseg imports mmcv.ops, so mmcv needs its compiled ops: build 2.1 from source against the
# installed torch (9-15 minutes on 2 cores the first time; pip caches the wheel).
run "mmcv (full build with ops, from source; takes 10-15 minutes the first time)" \
  "See the compiler output above; a C++ compiler and the Python headers are needed (apt install build-essential python3-dev)." -- \
  env PATH="$VENV/bin:$PATH" MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
  "${PIP[@]}" --no-build-isolation mmcv   # ninja on PATH: a parallel build
run "check mmcv.ops" \
  "mmcv was installed without its compiled ops: pip uninstall mmcv, then re-run this script." -- \
  "$VENV/bin/python" -c "from mmcv.ops import nms; import mmcv; print('mmcv', mmcv.__version__, 'with ops')"

run "OpenMMLab runtime (mmengine, mmsegmentation, mmpretrain)" \
  "Check PyPI access; see pip's message above." -- \
  "${PIP[@]}" mmengine mmsegmentation mmpretrain ftfy regex opencv-python

# openmim's dependency opendatalab pulls openxlab, which pins setuptools 60 and an old requests;
# mim train/test never import it, so install mim without it.
run "openmim (without openxlab)" "Check PyPI access." -- \
  "${PIP[@]}" --no-deps openmim
run "openmim's own dependencies" "Check PyPI access." -- \
  "${PIP[@]}" click colorama model-index pandas rich tabulate requests

run "deployment: ONNX, its exporter, ONNX Runtime, OpenVINO" "Check PyPI access." -- \
  "${PIP[@]}" onnx onnxscript onnxruntime openvino

# DenseCRF, the anchor of the post-processing study (the package's optional extra `densecrf`):
# a source package, built once (about 15 minutes on 2 busy cores; pip caches the wheel).
run "DenseCRF (pydensecrf2, built from source the first time)" \
  "A C++ compiler and the Python headers are needed (apt install build-essential python3-dev); see pip's message above." -- \
  "${PIP[@]}" pydensecrf2

run "test tools and this package (editable)" "See pip's message above." -- \
  "${PIP[@]}" pytest hypothesis ruff -e .

run "final import check" "An import failed: see the traceback above." -- \
  "$VENV/bin/python" -c "import torchvision, mmcv.ops, mmengine, mmseg, mmpretrain, mim, onnxruntime, openvino, onnxscript, pydensecrf.densecrf, mmseg_difnet; print('environment ready')"
touch "$VENV/.ready"
echo "==> [$(date +%T)] done: $VENV"
