#!/usr/bin/env bash
# Production serving on one machine: migrations, static files, an admin account (first
# run only), the django-q2 cluster and gunicorn (facerecog_site/gunicorn_conf.py: one
# worker per core, access log on stdout). SIGTERM or Ctrl-C stops every process it
# started within 10 s: gunicorn finishes requests in flight for up to 5 s, the cluster
# gets the same, then whatever is left of either process group is killed. A training cut
# short that way is retried by the next cluster (FACE_TRAIN_MAX_ATTEMPTS).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBUG="${DEBUG:-false}"
PY=.venv/bin/python
STOP_GRACE_SECONDS=7

$PY manage.py migrate --noinput
$PY manage.py collectstatic --noinput --verbosity 0
$PY manage.py ensure_admin

# Each in its own session (process group), so a stop reaches its children too.
setsid $PY manage.py qcluster &
cluster=$!
setsid .venv/bin/gunicorn --config facerecog_site/gunicorn_conf.py facerecog_site.wsgi:application &
web=$!

stopping=0
stop() {
  [ "$stopping" = 1 ] && return
  stopping=1
  trap '' INT TERM
  kill -TERM "$web" "$cluster" 2>/dev/null || true
  for _ in $(seq $((STOP_GRACE_SECONDS * 10))); do
    if ! kill -0 -- "-$web" 2>/dev/null && ! kill -0 -- "-$cluster" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  kill -KILL -- "-$web" "-$cluster" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap 'stop; exit 143' TERM
trap 'stop; exit 130' INT
trap stop EXIT

echo "Serving on http://${RUN_ADDRESS:-127.0.0.1:8000}/ (gunicorn; task queue running)"
# Either one ending (crash, port in use) ends the whole: a half-running system is worse.
wait -n "$web" "$cluster" || true
