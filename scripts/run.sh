#!/usr/bin/env bash
# Starts the whole system on one machine: migrations, an admin account (first run
# only), the django-q2 cluster and the web server on RUN_ADDRESS (default
# 127.0.0.1:8000).
#
# Stopping: Ctrl-C, or SIGTERM to this script or to `make run` (systemd, `timeout`,
# a container runtime). Each server runs in its own session (process group), so we
# can end both whole trees: TERM first (the web server's group; the cluster's parent
# only, which stops its own workers at once, while a TERM to each of them makes it
# wait out its timeouts), then KILL whatever is left after STOP_GRACE seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBUG="${DEBUG:-true}"
PY=.venv/bin/python
ADDRESS="${RUN_ADDRESS:-127.0.0.1:8000}"
[[ "$ADDRESS" == *:* ]] || ADDRESS="127.0.0.1:$ADDRESS" # runserver takes a bare port too
STOP_GRACE="${STOP_GRACE:-5}"

$PY manage.py migrate --noinput
$PY manage.py ensure_admin

cluster=""
groups=()

alive() {
  local group
  for group in "${groups[@]}"; do
    kill -0 -- "-$group" 2>/dev/null && return 0
  done
  return 1
}

stop() {
  trap - INT TERM EXIT
  local group tick
  for group in "${groups[@]}"; do
    if [[ "$group" == "$cluster" ]]; then
      kill -TERM "$group" 2>/dev/null || true
    else
      kill -TERM -- "-$group" 2>/dev/null || true
    fi
  done
  for ((tick = 0; tick < STOP_GRACE * 10; tick++)); do
    alive || break
    sleep 0.1
  done
  for group in "${groups[@]}"; do
    kill -KILL -- "-$group" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

# setsid: a session (and process group) of its own, whose id is the pid we get.
setsid $PY manage.py qcluster &
cluster=$!
groups+=("$cluster")
setsid $PY manage.py runserver "$ADDRESS" &
groups+=("$!")

echo "Web UI: http://$ADDRESS/  (admin: http://$ADDRESS/admin/)"
# Returns when either server ends (or a signal arrives): then stop the other.
wait -n || true
