#!/usr/bin/env bash
# Installs the Python client's requirements and runs its tests against a real kilnd.
# Needs .build/debug/kilnd (swift build --product kilnd, or swift build --build-tests).
set -euo pipefail
cd "$(dirname "$0")/.."
PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check -r clients/python/requirements.txt
cd clients/python
exec python3 -m pytest -q -p no:cacheprovider tests "$@"
