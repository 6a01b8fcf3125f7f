"""The OpenAPI contract: served, documented offline, and fuzzed without a server error."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from people.services import person_create
from tests.api_support import token_client, token_for, user_in

pytestmark = pytest.mark.django_db

# A handful of operations, each with a few generated requests (valid and invalid):
# bounded so the run takes seconds. Training is left out: it would run inline here.
FUZZED = [
    ("GET", "/api/people/"),
    ("POST", "/api/people/"),
    ("GET", "/api/people/{id}/"),
    ("PATCH", "/api/people/{id}/"),
    ("GET", "/api/people/{person_pk}/faces/"),
    ("POST", "/api/people/{person_pk}/faces/"),
    ("POST", "/api/identify/"),
    ("GET", "/api/models/"),
    ("GET", "/api/identifications/"),
    ("POST", "/api/auth/token/"),
    ("POST", "/predict_face"),
]
EXAMPLES_PER_MODE = 6


def test_schema_is_openapi_3_and_needs_a_login():
    assert token_client().get("/api/schema/").status_code == 401
    client = token_client(user_in("viewers"))
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path in ["/api/people/{person_pk}/faces/", "/api/identify/", "/api/models/train/"]:
        assert path in paths
    upload = paths["/api/people/{person_pk}/faces/"]["post"]["requestBody"]["content"]
    images = upload["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]
    field = schema["components"]["schemas"][images]["properties"]["images"]
    assert field["items"] == {"type": "string", "format": "binary"}
    assert "409" in paths["/api/identify/"]["post"]["responses"]
    assert "202" in paths["/api/models/train/"]["post"]["responses"]
    assert "knoxApiToken" in schema["components"]["securitySchemes"]


def test_schema_documents_401_and_nullable_users():
    client = token_client(user_in("viewers"))
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    missing = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "401" not in operation["responses"]
    ]
    assert missing == ["POST /api/auth/token/"]  # the one operation open to anyone
    components = schema["components"]["schemas"]
    assert components["TrainedModel"]["properties"]["requested_by"]["nullable"] is True
    assert components["Identification"]["properties"]["user"]["nullable"] is True
    assert components["FaceImage"]["properties"]["uploaded_by"]["nullable"] is True


def test_schema_generates_without_warnings_and_validates(tmp_path):
    from django.core.management import call_command

    # --fail-on-warn: an endpoint drf-spectacular has to guess about fails the test.
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert "/api/identify/" in out.read_text()


def test_docs_are_served_from_local_static_files():
    from django.test import Client

    client = Client()
    client.force_login(user_in("viewers"))
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    from django.contrib.staticfiles import finders

    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")


@pytest.fixture
def wsgi_app():  # type: ignore[no-untyped-def]
    """The real WSGI application, without closing the test's database connection.

    Django's test client does the same: the per-request close_old_connections would
    close the connection that holds the test transaction.
    """
    from django.core.signals import request_finished, request_started
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def fuzz(operation: Any, mode: Any, headers: dict[str, str]) -> dict[int, str]:
    """Status codes answered to a few generated requests (reproducible: derandomized),
    each with the first request that got it."""
    from hypothesis import HealthCheck, Phase, given, settings

    codes: dict[int, str] = {}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_MODE,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        codes.setdefault(case.call(headers=headers).status_code, repr(case))

    run()
    return codes


def test_fuzzing_the_schema_finds_no_server_error(wsgi_app):
    import schemathesis
    from schemathesis import GenerationMode

    admin = User.objects.create_superuser("fuzzer", password="x" * 16)
    headers = {"Authorization": f"Token {token_for(admin)}"}
    person_create(name="Someone")  # so some generated ids exist
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app, headers=headers)
    operations = {
        (op.method.upper(), op.path): op
        for result in schema.get_all_operations()
        if (op := result.ok()) is not None
    }
    assert set(FUZZED) <= set(operations)

    failures: list[str] = []
    statuses: dict[tuple[str, str], set[int]] = {}
    for key in FUZZED:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            codes = fuzz(operations[key], mode, headers)
            statuses.setdefault(key, set()).update(codes)
            failures += [f"{key}: {c} for {case}" for c, case in codes.items() if c >= 500]
    assert failures == []
    # The token worked: every operation answered something other than 401/403.
    assert all(codes - {401, 403} for codes in statuses.values()), statuses
