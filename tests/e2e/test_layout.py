"""Every page fits a phone (390 px) and a desktop (1280 px): no horizontal scroll, no
clipped table, long names and file names wrapped."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_browser_flow import Photos, identify, log_in
from tests.web_support import enroll, make_user, train

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LONG_NAME = "Maria-Fernanda Concepción de los Ángeles Rodríguez-Villanueva y Castellanos"
UNBROKEN_NAME = "Wolfeschlegelsteinhausenbergerdorffvoralternwarengewissenhaft"
LONG_FILE = "IMG_20240101_123456789_from_my_phone_camera_without_any_spaces_at_all_{}.jpg"

# Anything wider than its box: the page itself, or a scroll box (a table) that hides
# part of its content on the right.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const found = [];
  if (document.documentElement.scrollWidth > width) {
    found.push("page " + document.documentElement.scrollWidth + " > " + width);
  }
  for (const el of document.querySelectorAll("main *")) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1 && getComputedStyle(el).position !== "absolute") {
      found.push((el.id || el.className || el.tagName) + " right=" + Math.round(box.right));
    }
    const style = getComputedStyle(el);
    if (/(auto|scroll)/.test(style.overflowX) && el.scrollWidth > el.clientWidth + 1) {
      const what = el.id || el.className || el.tagName;
      found.push(what + " scrolls " + el.scrollWidth + " > " + el.clientWidth);
    }
  }
  return found.slice(0, 10);
}"""


def overflows(page: Any, label: str) -> list[str]:
    """What sticks out of ``page`` at each width (empty when it fits)."""
    found = []
    for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        problems = page.evaluate(OVERFLOW)
        if problems:
            found.append(f"{label} at {name} ({size['width']} px): {problems}")
    return found


def test_no_page_is_wider_than_the_viewport(
    page: Any, screenshot: Callable[[str], None], dev_photos: Photos, faces_dir: Path
) -> None:
    from people.models import Person
    from recognition.models import TrainedModel
    from recognition.services.enroll import face_image_enroll

    long = Person.objects.create(name=LONG_NAME, external_id="EMPLOYEE-0000000000123456789")
    unbroken = Person.objects.create(name=UNBROKEN_NAME)
    for person, folder in ((long, "Kim_Clijsters"), (unbroken, "Arnold_Schwarzenegger")):
        for index, photo in enumerate(dev_photos(folder)[:3]):
            face_image_enroll(
                person=person, source=photo.read_bytes(), name=LONG_FILE.format(index)
            )
    TrainedModel.objects.create(
        status=TrainedModel.Status.FAILED,
        error="training failed: " + "a very long error message without breaks " * 6 + "x" * 120,
    )
    model = train()
    enroll(long, dev_photos("Kim_Clijsters")[3:4])  # the gallery moved on: "out of date"
    log_in(page, make_user("olga", operator=True))

    problems: list[str] = []
    urls = {
        "dashboard": reverse("web:dashboard"),
        "people": reverse("web:person_list"),
        "person-form": reverse("web:person_create"),
        "person-detail": reverse("web:person_detail", args=[long.pk]),
        "person-detail-unbroken": reverse("web:person_detail", args=[unbroken.pk]),
        "person-edit": reverse("web:person_edit", args=[long.pk]),
        "person-delete": reverse("web:person_delete", args=[long.pk]),
        "photo-delete": reverse(
            "web:photo_delete",
            args=[long.pk, long.faces.first().pk],  # type: ignore[union-attr]
        ),
        "training": reverse("web:training"),
        "model-activate": reverse("web:model_activate", args=[model.pk]),
        "identify": reverse("web:identify"),
    }
    for label, url in urls.items():
        page.goto(url)
        problems += overflows(page, label)
    page.goto(urls["training"])
    screenshot("layout-training")
    page.goto(urls["person-detail"])
    screenshot("layout-person-detail")

    # Answers: a group photo (many rows) and a photo with a long file name.
    identify(page, faces_dir / "group" / "dlib_bald_guys.jpg")
    assert page.locator("#faces-table tbody tr").count() == 24
    problems += overflows(page, "identify-result (24 faces)")
    screenshot("layout-identify-24")
    identify(page, dev_photos("Kim_Clijsters")[5])
    problems += overflows(page, "identify-result")
    page.goto(reverse("web:identification_list"))
    assert re.search(r"\d", page.locator("table.audit tbody").inner_text())
    problems += overflows(page, "history")
    screenshot("layout-history")
    page.goto(reverse("web:person_list"))
    screenshot("layout-people")

    page.get_by_role("button", name="Log out").click()
    problems += overflows(page, "login")
    assert problems == [], "\n".join(problems)
