"""Bounded overload: an identification that cannot get a core in time is 503 + Retry-After."""

from __future__ import annotations

import threading
import time

import pytest
from django.test import Client
from django.urls import reverse

from recognition.admission import Overloaded, analysis_slot
from recognition.models import Identification
from tests.api_support import token_client, upload, user_in
from tests.recognition_support import UNSEEN, cached_training, gallery, train_now
from tests.web_support import viewer_client

__all__ = ["cached_training", "gallery"]  # fixtures used below


@pytest.mark.django_db
def test_api_identify_gets_503_with_retry_after_when_every_slot_stays_busy(
    gallery, cached_training, dev_photos, settings
):
    train_now()
    settings.FACE_IDENTIFY_CONCURRENCY = 1
    settings.FACE_IDENTIFY_WAIT = 0.2
    client = token_client(user_in("viewers"))
    photo = dev_photos("Tom_Cruise")[UNSEEN]
    with analysis_slot():  # the only slot is busy
        started = time.monotonic()
        response = client.post("/api/identify/", {"image": upload(photo)}, format="multipart")
        waited = time.monotonic() - started
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "1"
    assert response.json()["code"] == "overloaded"
    assert "try again in 1 s" in response.json()["detail"]
    assert 0.2 <= waited < 5  # waited for the slot, then gave up
    assert Identification.objects.count() == 0

    response = client.post("/api/identify/", {"image": upload(photo)}, format="multipart")
    assert response.status_code == 200  # the slot is free again
    assert response.json()["faces"][0]["person"] == "Tom Cruise"
    assert Identification.objects.count() == 1


@pytest.mark.django_db
def test_a_request_waits_for_a_slot_that_frees_in_time(
    gallery, cached_training, dev_photos, settings
):
    train_now()
    settings.FACE_IDENTIFY_CONCURRENCY = 1
    settings.FACE_IDENTIFY_WAIT = 10
    client = token_client(user_in("viewers"))
    busy, release = threading.Event(), threading.Event()

    def hold() -> None:
        with analysis_slot():
            busy.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    busy.wait(5)
    threading.Timer(0.3, release.set).start()
    response = client.post(
        "/predict_face", {"file": upload(dev_photos("Tom_Cruise")[UNSEEN])}, format="multipart"
    )
    holder.join()
    assert response.status_code == 200, response.content
    assert Identification.objects.count() == 1


@pytest.mark.django_db
def test_the_identify_page_gets_503_with_retry_after(
    client: Client, gallery, cached_training, dev_photos, settings
):
    train_now()
    settings.FACE_IDENTIFY_WAIT = 0.1
    viewer_client(client)
    photo = dev_photos("Tom_Cruise")[UNSEEN]
    with analysis_slot():
        response = client.post(reverse("web:identify"), {"image": upload(photo)})
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert "busy" in response.content.decode()
    assert Identification.objects.count() == 0


def test_a_request_that_cannot_start_in_time_is_refused_at_once(settings, monkeypatch):
    from recognition import admission

    monkeypatch.setattr(admission, "_recent_seconds", None)
    settings.FACE_IDENTIFY_CONCURRENCY = 1
    settings.FACE_IDENTIFY_WAIT = 2
    with analysis_slot():
        time.sleep(0.6)  # one analysis: the recent analysis time is now 0.6 s

    def queued() -> None:
        with analysis_slot():
            pass

    with analysis_slot():
        waiter = threading.Thread(target=queued)  # one request waits (expects ~0.6 s)
        waiter.start()
        time.sleep(0.1)
        settings.FACE_IDENTIFY_WAIT = 1.0  # now two ahead x 0.6 s > 1 s
        started = time.monotonic()
        with pytest.raises(Overloaded), analysis_slot():
            pass
        assert time.monotonic() - started < 0.5  # refused without waiting
    waiter.join(5)
    assert not waiter.is_alive()  # the one that could make it in time did
