"""Login, logout, and that every page is behind the login."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.web_support import PASSWORD, make_user

pytestmark = pytest.mark.django_db

PAGES = [
    ("web:dashboard", {}),
    ("web:person_list", {}),
    ("web:person_create", {}),
    ("web:person_detail", {"pk": 1}),
    ("web:person_edit", {"pk": 1}),
    ("web:person_delete", {"pk": 1}),
    ("web:photo_delete", {"person_pk": 1, "pk": 1}),
    ("web:training", {}),
    ("web:model_activate", {"pk": 1}),
    ("web:identify", {}),
    ("web:identification_list", {}),
]


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_anonymous_visitors_are_sent_to_login(client: Client, name: str, kwargs: dict) -> None:
    url = reverse(name, kwargs=kwargs)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={url}"


@pytest.mark.parametrize(
    "name", ["web:photo_upload", "web:training_start", "web:model_activate", "web:identify"]
)
def test_anonymous_posts_change_nothing(client: Client, name: str) -> None:
    kwargs = {"pk": 1} if name in {"web:photo_upload", "web:model_activate"} else {}
    response = client.post(reverse(name, kwargs=kwargs))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_progress_json_refuses_anonymous_with_403_not_a_login_page(client: Client) -> None:
    response = client.get(reverse("web:training_progress"))
    assert response.status_code == 403


def test_login_page_has_labelled_fields(client: Client) -> None:
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Log in · Face ID</title>" in html
    assert '<label for="id_username">Username</label>' in html
    assert '<label for="id_password">Password</label>' in html


def test_login_goes_to_the_dashboard(client: Client) -> None:
    make_user("ada")
    response = client.post(reverse("accounts:login"), {"username": "ada", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("web:dashboard")
    assert client.get(reverse("web:dashboard")).status_code == 200


def test_login_returns_to_the_page_asked_for(client: Client) -> None:
    make_user("ada")
    response = client.post(
        reverse("accounts:login"),
        {"username": "ada", "password": PASSWORD, "next": reverse("web:identify")},
    )
    assert response["Location"] == reverse("web:identify")


def test_wrong_password_shows_an_error_and_no_session(client: Client) -> None:
    make_user("ada")
    response = client.post(reverse("accounts:login"), {"username": "ada", "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post_and_ends_the_session(client: Client) -> None:
    client.force_login(make_user("ada"))
    assert client.get(reverse("accounts:logout")).status_code == 405
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert client.get(reverse("web:dashboard")).status_code == 302


def test_the_login_page_says_you_have_been_logged_out_once(client: Client) -> None:
    client.force_login(make_user("ada"))
    response = client.post(reverse("accounts:logout"), follow=True)
    html = response.content.decode()
    assert response.status_code == 200 and "<title>Log in · Face ID</title>" in html
    assert html.count("You have been logged out.") == 1
    # Only once: reloading the login page does not repeat it, nor does a stray POST.
    assert "logged out" not in client.get(reverse("accounts:login")).content.decode()
    again = client.post(reverse("accounts:logout"), follow=True).content.decode()
    assert "logged out" not in again


def test_every_page_has_a_favicon_and_the_browser_default_path_finds_it(client: Client) -> None:
    html = client.get(reverse("accounts:login")).content.decode()
    assert '<link rel="icon" href="/static/web/favicon.svg" type="image/svg+xml">' in html
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/web/favicon.svg"
    icon = client.get("/static/web/favicon.svg")
    assert icon.status_code == 200
    assert b"<svg" in b"".join(icon.streaming_content)  # type: ignore[attr-defined]


def test_api_docs_send_a_logged_out_browser_to_the_login_page(client: Client) -> None:
    response = client.get(reverse("api:docs"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={reverse('api:docs')}"
    client.force_login(make_user("ada"))
    response = client.get(reverse("api:docs"))
    assert response.status_code == 200 and b"swagger" in response.content.lower()


def test_user_without_permissions_gets_403_not_a_login_loop(client: Client) -> None:
    client.force_login(make_user("nobody"))
    assert client.get(reverse("web:person_list")).status_code == 403
    assert client.get(reverse("web:training")).status_code == 403
    assert client.get(reverse("web:identify")).status_code == 403
    # The dashboard only needs a login, and shows no links to pages it cannot open.
    html = client.get(reverse("web:dashboard")).content.decode()
    assert reverse("web:person_list") not in html
    assert reverse("web:identify") not in html


def test_refusals_are_a_page_in_the_site_layout(client: Client) -> None:
    client.force_login(make_user("nobody"))
    response = client.get(reverse("web:person_list"))
    assert response.status_code == 403
    html = response.content.decode()
    assert "<title>Not allowed · Face ID</title>" in html
    assert reverse("accounts:logout") in html


def test_a_locked_out_login_says_so_instead_of_wrong_password(client: Client, settings) -> None:
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_LOCKOUT_SECONDS = 300
    make_user("lena")
    url = reverse("accounts:login")
    for _ in range(2):
        wrong = client.post(url, {"username": "lena", "password": "guess"})
        assert b"Too many failed logins" not in wrong.content
    third = client.post(url, {"username": "lena", "password": "guess"})
    assert b"Too many failed logins. Try again in 5 minutes." in third.content
    right = client.post(url, {"username": "lena", "password": PASSWORD})
    assert right.status_code == 200  # the form again, not a redirect
    assert b"Too many failed logins" in right.content
    assert "_auth_user_id" not in client.session
