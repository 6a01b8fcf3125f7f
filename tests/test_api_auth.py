"""Tokens, 401s and the login lockout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from knox.models import AuthToken

from tests.api_support import PASSWORD, token_client, user_in

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/auth/token/"
PEOPLE_URL = "/api/people/"


def test_token_for_username_and_password_opens_the_api():
    user = user_in("viewers", "vera")
    response = token_client().post(
        TOKEN_URL, {"username": "vera", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "token_key", "expiry"}
    assert body["expiry"]
    stored = AuthToken.objects.get(user=user)
    assert stored.digest != body["token"] and body["token"] not in stored.digest  # hashed
    assert token_client(token=body["token"]).get(PEOPLE_URL).status_code == 200


def test_token_expires_after_the_configured_hours(settings):
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_TTL": timedelta(hours=2)}
    user_in("viewers", "vera")
    response = token_client().post(TOKEN_URL, {"username": "vera", "password": PASSWORD})
    token = AuthToken.objects.get(token_key=response.json()["token_key"])
    assert timedelta(minutes=119) < token.expiry - token.created <= timedelta(hours=2)


def test_wrong_password_is_400_with_a_code():
    user_in("viewers", "vera")
    response = token_client().post(TOKEN_URL, {"username": "vera", "password": "nope"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"
    assert not AuthToken.objects.exists()


def test_missing_password_names_the_field():
    response = token_client().post(TOKEN_URL, {"username": "vera"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "required"
    assert body["detail"].startswith("password:")


@pytest.mark.parametrize("header", [None, "Token nonsense", "Token " + "a" * 64, "Bearer x"])
def test_without_valid_credentials_is_401(header):
    user_in("viewers", "vera")
    client = token_client()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(PEOPLE_URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["code"] in {"not_authenticated", "authentication_failed"}


def test_revoked_token_is_401():
    client = token_client(user_in("viewers", "vera"))
    assert client.get(PEOPLE_URL).status_code == 200
    assert client.post("/api/auth/logout/").status_code == 204
    assert not AuthToken.objects.exists()
    assert client.get(PEOPLE_URL).status_code == 401


def test_expired_token_is_401():
    user = user_in("viewers", "vera")
    _, key = AuthToken.objects.create(user=user, expiry=timedelta(seconds=-1))
    response = token_client(token=key).get(PEOPLE_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert not AuthToken.objects.exists()  # deleted when it was refused


def test_a_token_of_a_deactivated_user_is_401_and_a_valid_one_reads_the_user_whole():
    user = user_in("viewers", "vera")
    user.first_name, user.email = "Vera", "vera@example.org"
    user.save()
    client = token_client(user)
    token = AuthToken.objects.get(user=user)
    response = client.get("/api/auth/tokens/")
    assert response.status_code == 200
    assert response.wsgi_request.user.email == "vera@example.org"
    assert response.wsgi_request.user.date_joined == user.date_joined  # aware, as stored
    assert response.wsgi_request.auth.created == token.created
    user.is_active = False
    user.save()
    response = client.get(PEOPLE_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_other_expired_tokens_go_when_a_token_is_issued_not_on_each_request():
    user = user_in("viewers", "vera")
    expired, _ = AuthToken.objects.create(user=user, expiry=timedelta(seconds=-1))
    issued = Client().post(TOKEN_URL, {"username": "vera", "password": PASSWORD})
    assert issued.status_code == 200
    assert not AuthToken.objects.filter(pk=expired.pk).exists()
    client = token_client(token=issued.json()["token"])
    stale, _ = AuthToken.objects.create(user=user, expiry=timedelta(seconds=-1))
    assert client.get(PEOPLE_URL).status_code == 200
    assert AuthToken.objects.filter(pk=stale.pk).exists()  # a request reads its own token only


def test_tokens_are_listed_and_revoked_one_by_one():
    user = user_in("viewers", "vera")
    first, second = token_client(user), token_client(user)
    listed = first.get("/api/auth/tokens/").json()
    assert len(listed) == 2
    assert sum(item["current"] for item in listed) == 1
    other = next(item for item in listed if not item["current"])
    assert first.delete(f"/api/auth/tokens/{other['token_key']}/").status_code == 204
    assert second.get(PEOPLE_URL).status_code == 401
    assert first.get(PEOPLE_URL).status_code == 200
    assert first.delete(f"/api/auth/tokens/{other['token_key']}/").status_code == 404


def test_another_users_token_cannot_be_revoked():
    mine = token_client(user_in("viewers", "vera"))
    theirs_user = user_in("viewers", "otto")
    theirs = AuthToken.objects.create(user=theirs_user)[0]
    assert mine.delete(f"/api/auth/tokens/{theirs.token_key}/").status_code == 404
    assert AuthToken.objects.filter(user=theirs_user).exists()


def test_session_login_works_for_the_browsable_api():
    client = Client()
    client.force_login(user_in("viewers", "vera"))
    response = client.get(PEOPLE_URL, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"People" in response.content or b"people" in response.content


def test_repeated_failures_lock_the_account_even_for_the_right_password(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_LOCKOUT_SECONDS = 120
    user_in("viewers", "vera")
    client = token_client()
    for _ in range(2):
        wrong = client.post(TOKEN_URL, {"username": "vera", "password": "guess"})
        assert wrong.status_code == 400
    # The failure that reaches the limit already says so.
    third = client.post(TOKEN_URL, {"username": "vera", "password": "guess"})
    assert third.status_code == 429
    locked = client.post(TOKEN_URL, {"username": "vera", "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.json()["code"] == "login_locked"
    assert 0 < int(locked["Retry-After"]) <= 120
    assert not AuthToken.objects.exists()
    # The same backend guards the admin and the web login.
    assert Client().login(username="vera", password=PASSWORD) is False
    admin = Client().post(
        "/admin/login/", {"username": "vera", "password": PASSWORD, "next": "/admin/"}
    )
    assert admin.status_code == 200  # the form again, not a redirect into the admin


def test_lockout_ends_after_the_configured_time(settings, monkeypatch):
    import time

    settings.LOGIN_FAILURE_LIMIT = 2
    settings.LOGIN_LOCKOUT_SECONDS = 60
    user_in("viewers", "vera")
    client = token_client()
    for _ in range(2):
        client.post(TOKEN_URL, {"username": "vera", "password": "guess"})
    assert client.post(TOKEN_URL, {"username": "vera", "password": PASSWORD}).status_code == 429
    later = time.time() + 61
    monkeypatch.setattr("accounts.backends.time.time", lambda: later)
    assert client.post(TOKEN_URL, {"username": "vera", "password": PASSWORD}).status_code == 200


def test_one_address_guessing_many_accounts_is_locked(settings):
    settings.LOGIN_FAILURE_LIMIT = 2  # per address: 4 x 2 = 8
    for name in ["a1", "a2", "a3", "a4", "a5"]:
        user_in(None, name)
    client = token_client()
    for name in ["a1", "a1", "a2", "a2", "a3", "a3", "a4", "a4"]:
        client.post(TOKEN_URL, {"username": name, "password": "guess"})
    response = client.post(TOKEN_URL, {"username": "a5", "password": PASSWORD})
    assert response.status_code == 429


def test_success_resets_the_username_count(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    user_in("viewers", "vera")
    client = token_client()
    for _ in range(2):
        client.post(TOKEN_URL, {"username": "vera", "password": "guess"})
    assert client.post(TOKEN_URL, {"username": "vera", "password": PASSWORD}).status_code == 200
    for _ in range(2):
        client.post(TOKEN_URL, {"username": "vera", "password": "guess"})
    assert client.post(TOKEN_URL, {"username": "vera", "password": PASSWORD}).status_code == 200
