"""Training page: start a training, live progress (JSON), model history, rollback."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from recognition.models import TrainedModel
from tests.web_support import enroll, operator_client, person_with_photos, viewer_client

pytestmark = pytest.mark.django_db

Photos = Callable[[str], list[Path]]


def test_empty_page_for_operator_and_viewer(client: Client) -> None:
    operator_client(client)
    html = client.get(reverse("web:training")).content.decode()
    assert "<title>Train · Face ID</title>" in html
    assert "No model has been trained yet." in html
    assert "Start a training" in html

    viewer_client(client)
    response = client.get(reverse("web:training"))
    assert response.status_code == 200
    assert "Start a training" not in response.content.decode()


def test_viewer_cannot_start_a_training(client: Client) -> None:
    viewer_client(client)
    assert client.post(reverse("web:training_start")).status_code == 403
    assert not TrainedModel.objects.exists()


def test_progress_of_a_running_training(client: Client) -> None:
    viewer_client(client)
    running = TrainedModel.objects.create(status=TrainedModel.Status.RUNNING, epoch=12, epochs=60)
    data = client.get(reverse("web:training_progress")).json()
    assert data["model"] == {
        "id": running.pk,
        "status": "running",
        "status_label": "Running",
        "epoch": 12,
        "epochs": 60,
        "percent": 20,
        "finished": False,
        "text": "Epoch 12 of 60",
    }
    html = client.get(reverse("web:training")).content.decode()
    assert f"Training #{running.pk}" in html
    assert 'value="20"' in html
    assert 'data-finished="false"' in html


def test_progress_without_any_training(client: Client) -> None:
    viewer_client(client)
    assert client.get(reverse("web:training_progress")).json() == {"model": None}


# transaction=True: the training is enqueued on commit and (Q_SYNC) runs inline, as in
# production, before the view answers.
@pytest.mark.django_db(transaction=True)
def test_too_few_photos_disables_the_button_with_the_reason_and_creates_nothing(
    client: Client, dev_photos: Photos
) -> None:
    operator_client(client)
    person_with_photos("Kim", dev_photos("Kim_Clijsters")[:2])
    person_with_photos("Arnold", dev_photos("Arnold_Schwarzenegger")[:1])
    page = client.get(reverse("web:training")).content.decode()
    reason = (
        "Training needs at least two people with at least two photos each; "
        "the gallery has 2 people, 1 of them with two or more photos."
    )
    assert reason in page
    assert re.search(r'<button type="submit" class="primary" disabled[^>]*>Start a training<', page)
    # A POST anyway (an old page, a script) is refused with the reason; no failed row.
    response = client.post(reverse("web:training_start"), follow=True)
    assert not TrainedModel.objects.exists()
    html = response.content.decode()
    assert f"Training not started: {reason}" in html


@pytest.mark.django_db(transaction=True)
def test_train_then_roll_back_to_the_first_model(client: Client, dev_photos: Photos) -> None:
    user = operator_client(client)
    kim = person_with_photos("Kim Clijsters", dev_photos("Kim_Clijsters")[:3])
    person_with_photos("Arnold", dev_photos("Arnold_Schwarzenegger")[:3])

    response = client.post(reverse("web:training_start"), follow=True)
    first = TrainedModel.objects.get()
    assert (first.status, first.is_active, first.requested_by) == ("succeeded", True, user)
    html = response.content.decode()
    assert f"Training #{first.pk} finished" in html
    assert "Done: stopped after epoch" in html
    assert 'data-finished="true"' in html
    assert "<polyline" in html  # the loss and accuracy curves
    assert "Accuracy per epoch" in html
    progress = client.get(reverse("web:training_progress")).json()["model"]
    assert (progress["id"], progress["percent"], progress["finished"]) == (first.pk, 100, True)

    enroll(kim, dev_photos("Kim_Clijsters")[3:4])
    gallery = client.get(reverse("web:person_detail", args=[kim.pk])).content.decode()
    assert gallery.count("Enrolled · in the active model") == 3
    assert gallery.count("Enrolled · waiting for the next training") == 1
    client.post(reverse("web:training_start"))
    second = TrainedModel.objects.exclude(pk=first.pk).get()
    assert second.is_active

    activate = reverse("web:model_activate", args=[first.pk])
    history = client.get(reverse("web:training")).content.decode()
    assert activate in history
    confirm = client.get(activate)
    assert confirm.status_code == 200
    assert f"It replaces model #{second.pk}" in confirm.content.decode()
    response = client.post(activate, follow=True)
    assert f"Model #{first.pk} is now active." in response.content.decode()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.is_active and not second.is_active


def test_a_failed_model_cannot_be_activated(client: Client) -> None:
    operator_client(client)
    failed = TrainedModel.objects.create(status=TrainedModel.Status.FAILED, error="boom")
    response = client.post(reverse("web:model_activate", args=[failed.pk]), follow=True)
    assert f"Model #{failed.pk} was not activated" in response.content.decode()
    failed.refresh_from_db()
    assert not failed.is_active


def test_viewer_cannot_activate(client: Client) -> None:
    viewer_client(client)
    model = TrainedModel.objects.create(status=TrainedModel.Status.SUCCEEDED)
    assert client.get(reverse("web:model_activate", args=[model.pk])).status_code == 403
    assert client.post(reverse("web:model_activate", args=[model.pk])).status_code == 403
    model.refresh_from_db()
    assert not model.is_active
