#!/usr/bin/env bash
# Install the official tensorbay SDK (1.24.2) into the virtual environment $1 on Python 3.11.
set -euo pipefail
venv=${1:-.venv}
if "$venv/bin/python" -c "import tensorbay" 2>/dev/null; then exit 0; fi
"$venv/bin/pip" install -q "numpy<2" setuptools wheel
"$venv/bin/pip" install -q --no-build-isolation "numpy-quaternion==2021.11.4.15.26.3"
"$venv/bin/pip" install -q "tensorbay==1.24.2"
