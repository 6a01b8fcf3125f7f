#!/usr/bin/env bash
# Starts the whole system on one machine: migrations, an admin account (first run
# only), the django-q2 cluster and the web server. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBUG="${DEBUG:-true}"
PY=.venv/bin/python

$PY manage.py migrate --noinput
$PY manage.py ensure_admin

$PY manage.py qcluster &
cluster=$!
stop() {
  kill -TERM "$cluster" 2>/dev/null || true
  wait "$cluster" 2>/dev/null || true
}
trap stop EXIT INT TERM

echo "Web UI: http://127.0.0.1:8000/  (admin: http://127.0.0.1:8000/admin/)"
$PY manage.py runserver "${RUN_ADDRESS:-127.0.0.1:8000}"
