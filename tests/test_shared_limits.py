"""Lockouts and throttles hold across the processes of a pre-forking server.

Without Redis the counters live in the database cache, so both gunicorn workers see
them: no token is issued during a lockout, and a throttle lets through its rate, not
its rate per process. (CI runs this again with REDIS_URL set: the Redis cache.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.api_support import PASSWORD, token_for, user_with
from tests.server_support import gunicorn

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS = 2


def test_no_token_is_issued_during_a_lockout_under_two_processes(media_root, tmp_path: Path):
    user_with("olga")
    with gunicorn(
        workers=WORKERS,
        media_root=media_root,
        log=tmp_path / "gunicorn.log",
        LOGIN_FAILURE_LIMIT="5",
        THROTTLE_LOGIN="1000/min",
    ) as base:
        wrong = [
            requests.post(
                f"{base}/api/auth/token/",
                data={"username": "olga", "password": "wrong"},
                headers={"Connection": "close"},  # a new connection: either worker
                timeout=30,
            ).status_code
            for _ in range(5)
        ]
        right = [
            requests.post(
                f"{base}/api/auth/token/",
                data={"username": "olga", "password": PASSWORD},
                headers={"Connection": "close"},
                timeout=30,
            )
            for _ in range(10)
        ]
    assert wrong == [400] * 4 + [429]  # the fifth failure starts the lockout
    assert [r.status_code for r in right] == [429] * 10
    assert {r.json()["code"] for r in right} == {"login_locked"}
    assert all(int(r.headers["Retry-After"]) > 0 for r in right)


def test_a_throttle_lets_through_its_rate_not_its_rate_per_process(media_root, tmp_path):
    token = token_for(user_with("vera", "recognition.add_identification"))
    with gunicorn(
        workers=WORKERS,
        media_root=media_root,
        log=tmp_path / "gunicorn.log",
        THROTTLE_IDENTIFY="10/min",
    ) as base:
        statuses = [
            requests.post(
                f"{base}/api/identify/",
                files={"image": ("a.jpg", b"x", "image/jpeg")},
                headers={"Authorization": f"Token {token}", "Connection": "close"},
                timeout=30,
            ).status_code
            for _ in range(30)
        ]
    # No model yet: an admitted request is 409 no_active_model, a throttled one 429.
    assert statuses.count(409) == 10
    assert statuses.count(429) == 20
