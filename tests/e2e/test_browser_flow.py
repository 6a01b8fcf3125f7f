"""The whole product in a real browser: log in, enroll, train, identify."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import expect

from tests.web_support import PASSWORD, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

Photos = Callable[[str], list[Path]]

PAGES = [
    reverse("web:dashboard"),
    reverse("web:person_list"),
    reverse("web:person_create"),
    reverse("web:person_detail", args=[1]),
    reverse("web:person_edit", args=[1]),
    reverse("web:person_delete", args=[1]),
    reverse("web:training"),
    reverse("web:identify"),
    reverse("web:identification_list"),
]


def log_in(page: Any, user: User) -> None:
    page.goto(reverse("web:dashboard"))
    page.get_by_label("Username").fill(user.get_username())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/$"))


def create_person(page: Any, name: str, photos: list[Path]) -> None:
    page.goto(reverse("web:person_list"))
    page.get_by_role("link", name="Add a person").click()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Add person").click()
    page.wait_for_selector(f"h1:text-is('{name}')")
    page.get_by_label("Photos", exact=True).set_input_files([str(path) for path in photos])
    assert page.locator("[data-file-list] li").count() == len(photos)
    page.get_by_role("button", name="Enroll photos").click()
    page.wait_for_selector("#upload-results")


def identify(page: Any, photo: Path) -> None:
    page.goto(reverse("web:identify"))
    page.get_by_label("Photo", exact=True).set_input_files(str(photo))
    page.get_by_role("button", name="Identify").click()
    page.wait_for_selector("#identified-photo")


def test_anonymous_visits_redirect_to_login(page: Any, screenshot: Callable[[str], None]) -> None:
    for path in PAGES:
        page.goto(path)
        assert page.url.endswith(f"{reverse('accounts:login')}?next={path}"), page.url
        assert page.title() == "Log in · Face ID"
    screenshot("login")


def test_enroll_train_identify(
    page: Any, screenshot: Callable[[str], None], dev_photos: Photos, faces_dir: Path
) -> None:
    log_in(page, make_user("olga", operator=True))
    assert page.title() == "Dashboard · Face ID"
    screenshot("dashboard-empty")

    kim, arnold = dev_photos("Kim_Clijsters"), dev_photos("Arnold_Schwarzenegger")
    coffee = faces_dir / "noface" / "skimage_coffee.jpg"
    create_person(page, "Kim Clijsters", [*kim[:3], coffee])
    results = page.locator("#upload-results li")
    assert results.count() == 4
    for photo in kim[:3]:
        assert results.filter(has_text=f"Enrolled: {photo.name}").count() == 1
    refused = results.filter(has_text="Refused")
    assert refused.count() == 1
    assert refused.inner_text() == (
        "Refused: No face found in skimage_coffee.jpg. (reason: no_face)"
    )
    assert page.locator(".gallery .photo").count() == 3
    screenshot("person-detail")

    create_person(
        page, "Arnold Schwarzenegger", [*arnold[:3], faces_dir / "noface" / "dlib_dogs.jpg"]
    )
    assert page.locator("#upload-results li.ok").count() == 3
    assert page.locator("#upload-results li.refused").count() == 1

    page.goto(reverse("web:person_list"))
    assert page.locator(".person-row").count() == 2
    assert page.locator(".person-row", has_text="Kim Clijsters").inner_text().count("3 photos") == 1
    screenshot("people")
    page.get_by_role("link", name="Add a person").click()
    screenshot("person-form")
    page.goto(reverse("web:dashboard"))
    assert page.locator("#stat-people").inner_text() == "2"
    assert page.locator("#stat-photos").inner_text() == "6"

    # Q_SYNC: the training runs inside the request; the page then shows it finished.
    page.get_by_role("link", name="Train", exact=True).click()
    page.get_by_role("button", name="Start a training").click()
    page.wait_for_selector("#progress[data-finished='true']")
    assert page.locator("#progress-bar").get_attribute("value") == "100"
    assert page.locator("#progress-text").inner_text().startswith("Done: stopped after epoch")
    assert page.locator("table.models tbody tr").count() == 1
    assert page.locator("table.models tbody tr").first.inner_text().count("Succeeded") == 1
    assert page.locator(".chart polyline").count() == 4
    screenshot("training")

    page.goto(reverse("web:dashboard"))
    assert page.locator(".notice.ok").inner_text() == "The model is up to date with the gallery."
    screenshot("dashboard")

    identify(page, kim[5])
    assert page.locator("#faces-table tbody tr").count() == 1
    assert page.locator("#faces-table tbody tr td").first.inner_text() == "Kim Clijsters"
    assert "Kim Clijsters" in (page.locator("#identified-photo").get_attribute("alt") or "")
    screenshot("identify-result")

    identify(page, dev_photos("Fidel_Castro")[0])
    assert page.locator("#faces-table tbody tr td").first.inner_text() == "Unknown"
    screenshot("identify-unknown")

    page.get_by_role("link", name="History").click()
    assert page.locator("table.audit tbody tr").count() == 2
    screenshot("identifications")

    page.goto(reverse("web:person_list"))
    page.get_by_role("link", name=re.compile("Kim Clijsters")).click()
    page.get_by_role("link", name="Delete person").click()
    assert (
        "3 photos will be deleted and the model will be retrained"
        in page.locator("#delete-consequences").inner_text()
    )
    screenshot("person-delete")


def test_drop_a_file_and_take_a_webcam_photo_then_enroll_both(
    page: Any, screenshot: Callable[[str], None], dev_photos: Photos
) -> None:
    from people.models import Person

    person = Person.objects.create(name="Kim Clijsters")
    log_in(page, make_user("olga", operator=True))
    page.goto(reverse("web:identify"))
    screenshot("identify")
    page.goto(reverse("web:person_detail", args=[person.pk]))

    photo = dev_photos("Kim_Clijsters")[0]
    transfer = page.evaluate_handle(
        """([name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: "image/jpeg" }));
            return transfer;
        }""",
        [photo.name, base64.b64encode(photo.read_bytes()).decode()],
    )
    page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": transfer})
    assert page.locator("[data-file-list] li").all_inner_texts() == [photo.name]

    page.get_by_role("button", name="Use the camera").click()
    page.wait_for_function("document.querySelector('[data-camera-video]').videoWidth > 0")
    assert page.get_by_role("button", name="Use the camera").is_hidden()
    page.get_by_role("button", name="Take photo").click()
    # The snapshot is encoded asynchronously (canvas.toBlob): wait for it to be listed.
    expect(page.locator("[data-file-list] li")).to_have_count(2)
    names = page.locator("[data-file-list] li").all_inner_texts()
    assert names[0] == photo.name
    assert names[1].startswith("webcam-") and names[1].endswith(".jpg")
    screenshot("person-camera")

    page.get_by_role("button", name="Enroll photos").click()
    page.wait_for_selector("#upload-results")
    results = page.locator("#upload-results li").all_inner_texts()
    assert len(results) == 2, results
    assert results[0] == f"Enrolled: {photo.name}"
    # Chromium's fake camera films a test pattern, not a face: refused, with the reason.
    assert results[1] == f"Refused: No face found in {names[1]}. (reason: no_face)"
    assert person.faces.count() == 1


def test_viewer_sees_no_enroll_delete_or_train_controls(page: Any) -> None:
    from people.models import Person

    person = Person.objects.create(name="Kim Clijsters")
    log_in(
        page,
        make_user(
            "victor",
            perms=[
                "people.view_person",
                "recognition.view_trainedmodel",
                "recognition.add_identification",
            ],
        ),
    )
    nav = page.locator("nav.nav").inner_text()
    assert "Identify" in nav and "History" not in nav
    page.goto(reverse("web:person_detail", args=[person.pk]))
    assert page.get_by_role("button", name="Enroll photos").count() == 0
    assert page.get_by_role("link", name=re.compile("Delete")).count() == 0
    page.goto(reverse("web:training"))
    assert page.get_by_role("button", name="Start a training").count() == 0
    response = page.request.post(reverse("web:training_start"))
    assert response.status == 403


def test_progress_bar_follows_a_running_training_without_reloading(page: Any) -> None:
    from recognition.models import TrainedModel

    running = TrainedModel.objects.create(status=TrainedModel.Status.RUNNING, epoch=5, epochs=60)
    log_in(page, make_user("olga", operator=True))
    page.goto(reverse("web:training"))
    expect(page.locator("#progress-text")).to_have_text("Epoch 5 of 60")
    assert page.get_by_role("button", name="Training in progress…").is_disabled()
    page.evaluate("window.notReloaded = true")

    TrainedModel.objects.filter(pk=running.pk).update(epoch=30)
    expect(page.locator("#progress-text")).to_have_text("Epoch 30 of 60")
    assert page.locator("#progress-bar").get_attribute("value") == "50"
    assert page.evaluate("window.notReloaded") is True

    TrainedModel.objects.filter(pk=running.pk).update(
        status=TrainedModel.Status.SUCCEEDED, epoch=42, metrics={"val_accuracy": 0.9}
    )
    # Finished: the page reloads itself to show the new model in the history.
    expect(page.locator("#progress[data-finished='true']")).to_have_count(1)
    expect(page.locator("#progress-text")).to_have_text(
        "Done: stopped after epoch 42 of 60, validation accuracy 90.0%"
    )
    expect(page.locator("table.models tbody tr")).to_have_count(1)


def test_start_a_training_is_disabled_with_the_reason_when_the_gallery_is_too_small(
    page: Any, screenshot: Callable[[str], None], dev_photos: Photos
) -> None:
    from people.models import Person
    from recognition.models import TrainedModel
    from tests.web_support import enroll

    enroll(Person.objects.create(name="Kim Clijsters"), dev_photos("Kim_Clijsters")[:3])
    log_in(page, make_user("olga", operator=True))
    page.goto(reverse("web:training"))
    button = page.get_by_role("button", name="Start a training")
    assert button.is_disabled()
    assert (
        page.locator("#train-blocker")
        .inner_text()
        .startswith(
            "Training needs at least two people with at least two photos each; "
            "the gallery has 1 person, 1 of them with two or more photos."
        )
    )
    assert page.get_by_text("No model has been trained yet.").count() == 1
    screenshot("training-too-small")
    assert not TrainedModel.objects.exists()


def test_history_filters_in_the_browser(page: Any, screenshot: Callable[[str], None]) -> None:
    from people.models import Person
    from recognition.models import Identification

    kim = Person.objects.create(name="Kim Clijsters")
    named = Identification.objects.create(
        channel="web",
        image_sha256="0" * 64,
        face_count=1,
        known_count=1,
        results=[{"name": "Kim Clijsters"}],
    )
    named.people.set([kim])
    Identification.objects.create(
        channel="cli",
        image_sha256="1" * 64,
        face_count=1,
        known_count=0,
        results=[{"name": None}],
    )
    log_in(page, make_user("olga", operator=True))
    page.goto(reverse("web:identification_list"))
    assert page.locator("table.audit tbody tr").count() == 2
    page.get_by_label("Only with unknown faces").check()
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.audit tbody tr")).to_have_count(1)
    assert "Unknown" in page.locator("table.audit tbody tr").inner_text()
    page.get_by_role("link", name="Clear filters").click()
    page.get_by_label("Person named").select_option(label="Kim Clijsters")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.audit tbody tr")).to_have_count(1)
    assert "Kim Clijsters" in page.locator("table.audit tbody tr").inner_text()
    screenshot("history-filtered")


def test_papercuts_in_the_browser(
    page: Any, screenshot: Callable[[str], None], dev_photos: Photos
) -> None:
    from people.models import Person
    from tests.web_support import enroll

    # Logged out, the API docs send the browser to the login page, then back.
    page.goto(reverse("api:docs"))
    assert page.url.endswith(f"{reverse('accounts:login')}?next={reverse('api:docs')}")
    user = make_user("olga", operator=True)
    page.get_by_label("Username").fill(user.get_username())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/api/docs/$"))
    expect(page.locator(".swagger-ui")).to_have_count(1)

    # The favicon every page links to is served, and /favicon.ico leads to it.
    page.goto(reverse("web:dashboard"))
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon and page.request.get(icon).status == 200
    assert page.request.get("/favicon.ico").status == 200

    # One person, one photo: English, not "1 people".
    enroll(Person.objects.create(name="Kim Clijsters"), dev_photos("Kim_Clijsters")[:1])
    page.reload()
    assert page.locator(".stat .label").all_inner_texts()[:2] == ["person", "photo"]

    # The identify page with no model says so once, before and after a try.
    identify_url = reverse("web:identify")
    page.goto(identify_url)
    assert page.get_by_text("No model has been trained yet").count() == 1
    page.get_by_label("Photo", exact=True).set_input_files(str(dev_photos("Kim_Clijsters")[1]))
    page.get_by_role("button", name="Identify").click()
    page.wait_for_load_state()
    assert page.get_by_text("No model has been trained yet").count() == 1
    screenshot("identify-no-model")

    # The browsable API's form for people works.
    page.goto("/api/people/")
    form = page.locator("form[enctype='multipart/form-data'][method=POST]")
    form.locator("input[name=name]").fill("Arnold Schwarzenegger")
    form.locator("button", has_text="POST").click()
    expect(page.locator(".response-info")).to_contain_text("HTTP 201 Created")
    assert Person.objects.filter(name="Arnold Schwarzenegger").exists()

    # Logging out says so.
    page.goto(reverse("web:dashboard"))
    page.get_by_role("button", name="Log out").click()
    expect(page.locator(".messages")).to_have_text("You have been logged out.")
    screenshot("logged-out")
