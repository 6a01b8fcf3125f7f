"""Many clients at once against a real threaded server on the default database.

On SQLite this is the case that used to answer 500 "database is locked" and leave
audit rows without their people: 16 identify clients and 2 enrollment clients in
parallel must all succeed, and every audit row must be whole. CI runs the same test on
PostgreSQL.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import requests

from people.models import FaceImage
from recognition.models import Identification
from recognition.services.train import model_train, model_train_request
from tests.api_support import token_for, user_with
from tests.recognition_support import GALLERY, UNSEEN, cached_training, enroll

__all__ = ["cached_training"]

IDENTIFY_CLIENTS = 16
IDENTIFY_EACH = 3


@pytest.mark.django_db(transaction=True)
def test_parallel_identify_and_enroll_all_succeed_and_audit_rows_are_whole(
    live_server, dev_photos, cached_training
):
    people = {name: enroll(name.replace("_", " "), dev_photos(name)[:4]) for name in GALLERY}
    model_train(model_id=model_train_request(enqueue=False).pk)
    probes = [dev_photos(name)[UNSEEN] for name in GALLERY]  # one face for both engines
    # One user per client: the per-user throttle is not what is tested here.
    identify = "recognition.add_identification"
    tokens = [token_for(user_with(f"viewer{i}", identify)) for i in range(IDENTIFY_CLIENTS)]
    enroller = token_for(user_with("enroller", "people.add_faceimage"))
    to_enroll = [
        (people[name].pk, path) for name in GALLERY[:2] for path in dev_photos(name)[4:5]
    ] + [(people[name].pk, path) for name in GALLERY[2:4] for path in dev_photos(name)[6:7]]

    outcomes: list[tuple[str, int, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(IDENTIFY_CLIENTS + 2)

    def post(token: str, url: str, files: dict[str, tuple[str, bytes, str]]) -> None:
        response = requests.post(
            live_server.url + url,
            files=files,
            headers={"Authorization": f"Token {token}"},
            timeout=120,
        )
        with lock:
            outcomes.append((url, response.status_code, response.text[:200]))

    def identify_client(index: int) -> None:
        start.wait()
        for round_ in range(IDENTIFY_EACH):
            probe: Path = probes[(index + round_) % len(probes)]
            post(tokens[index], "/api/identify/", {"image": (probe.name, probe.read_bytes(), "")})

    def enroll_client(jobs: list[tuple[int, Path]]) -> None:
        start.wait()
        for person_id, path in jobs:
            post(
                enroller,
                f"/api/people/{person_id}/faces/",
                {"images": (path.name, path.read_bytes(), "")},
            )

    threads = [threading.Thread(target=identify_client, args=(i,)) for i in range(IDENTIFY_CLIENTS)]
    threads += [threading.Thread(target=enroll_client, args=(to_enroll[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    identified = [o for o in outcomes if o[0] == "/api/identify/"]
    enrolled = [o for o in outcomes if o[0] != "/api/identify/"]
    assert len(identified) == IDENTIFY_CLIENTS * IDENTIFY_EACH
    assert len(enrolled) == len(to_enroll)
    failures = [o for o in outcomes if o[1] not in (200, 201)]
    assert failures == []
    assert FaceImage.objects.count() == 4 * len(GALLERY) + len(to_enroll)

    records = list(Identification.objects.prefetch_related("people"))
    assert len(records) == IDENTIFY_CLIENTS * IDENTIFY_EACH
    for record in records:
        named = {face["person_id"] for face in record.results if face["person_id"] is not None}
        assert record.face_count == len(record.results) == 1
        assert record.known_count == len(named) == 1
        assert {person.pk for person in record.people.all()} == named
