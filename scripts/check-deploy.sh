#!/usr/bin/env bash
# Django's deployment checklist with production settings: must report no warnings.
set -euo pipefail
cd "$(dirname "$0")/.."
DEBUG=false \
SECRET_KEY="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
ALLOWED_HOSTS=faces.example.org \
  .venv/bin/python manage.py check --deploy --fail-level WARNING
