"""The dashboard: gallery counts, the active model, a running training, staleness."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from people.models import Person
from recognition.models import TrainedModel
from recognition.selectors import gallery_fingerprint_current
from tests.web_support import enroll, operator_client, viewer_client

pytestmark = pytest.mark.django_db


def active_model_of_current_gallery() -> TrainedModel:
    return TrainedModel.objects.create(
        status=TrainedModel.Status.SUCCEEDED,
        is_active=True,
        people_count=1,
        embedding_count=2,
        metrics={"val_accuracy": 0.973, "gallery_fingerprint": gallery_fingerprint_current()},
    )


def test_counts_and_no_model_yet(client: Client, dev_photos: Callable[[str], list[Path]]) -> None:
    operator_client(client)
    enroll(Person.objects.create(name="Kim"), dev_photos("Kim_Clijsters")[:2])
    Person.objects.create(name="Nobody yet")
    response = client.get(reverse("web:dashboard"))
    assert response.status_code == 200
    assert response.context["stats"] == {"people": 2, "photos": 2, "embeddings": 2}
    html = response.content.decode()
    assert "<title>Dashboard · Face ID</title>" in html
    assert "No model has been trained yet" in html
    # One person with photos cannot be trained: no button that could only fail.
    assert reverse("web:training_start") not in html
    enroll(Person.objects.get(name="Nobody yet"), dev_photos("Arnold_Schwarzenegger")[:2])
    assert reverse("web:training_start") in client.get(reverse("web:dashboard")).content.decode()


def test_up_to_date_model_shows_accuracy_and_no_retrain_button(
    client: Client, dev_photos: Callable[[str], list[Path]]
) -> None:
    operator_client(client)
    enroll(Person.objects.create(name="Kim"), dev_photos("Kim_Clijsters")[:2])
    model = active_model_of_current_gallery()
    html = client.get(reverse("web:dashboard")).content.decode()
    assert f"#{model.pk}, trained on 1 person and 2 photos" in html
    assert "97.3%" in html
    assert "up to date" in html
    assert reverse("web:training_start") not in html


def test_counts_read_as_english_one_person_one_photo(
    client: Client, dev_photos: Callable[[str], list[Path]]
) -> None:
    viewer_client(client)
    enroll(Person.objects.create(name="Kim"), dev_photos("Kim_Clijsters")[:1])
    active_model_of_current_gallery()
    html = client.get(reverse("web:dashboard")).content.decode()
    assert '<span class="label">person</span>' in html
    assert '<span class="label">photo</span>' in html
    assert '<span class="label">face encoding</span>' in html
    assert "trained on 1 person and 2 photos" in html
    assert "1 people" not in html


def test_stale_model_offers_a_retrain_to_operators_only(
    client: Client, dev_photos: Callable[[str], list[Path]]
) -> None:
    kim = Person.objects.create(name="Kim")
    enroll(kim, dev_photos("Kim_Clijsters")[:2])
    enroll(Person.objects.create(name="Arnold"), dev_photos("Arnold_Schwarzenegger")[:2])
    active_model_of_current_gallery()
    enroll(kim, dev_photos("Kim_Clijsters")[2:3])  # a photo the model has not seen

    operator_client(client)
    html = client.get(reverse("web:dashboard")).content.decode()
    assert 'id="stale-notice"' in html
    assert "Retrain now" in html

    viewer_client(client)
    html = client.get(reverse("web:dashboard")).content.decode()
    assert 'id="stale-notice"' in html
    assert "Retrain now" not in html
    assert reverse("web:training_start") not in html


def test_running_training_is_shown_instead_of_a_button(client: Client) -> None:
    operator_client(client)
    running = TrainedModel.objects.create(status=TrainedModel.Status.RUNNING, epoch=3, epochs=60)
    html = client.get(reverse("web:dashboard")).content.decode()
    assert f"Training #{running.pk} is running: epoch 3 of 60" in html
    assert reverse("web:training_start") not in html
