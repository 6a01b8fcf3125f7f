"""Reviewing answers in a real browser: the unknown-faces inbox and "not this person"."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from people.models import Person
from tests.e2e.conftest import PHONE
from tests.e2e.test_browser_flow import identify, log_in
from tests.recognition_support import GALLERY, STRANGER, alone, enroll, train_now
from tests.web_support import make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

Photos = Callable[[str], list[Path]]


def answer_row(page: Any) -> Any:
    rows = page.locator("#faces-table tbody tr")
    assert rows.count() == 1
    return rows.first


def evidence(page: Any) -> Any:
    """The explanation of the one face: its answer, why, and the review actions."""
    items = page.locator("#faces-evidence li")
    assert items.count() == 1
    return items.first


def fits_a_phone(page: Any) -> bool:
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    return bool(width <= PHONE["width"])


def test_a_stranger_twice_becomes_a_person_and_a_wrong_answer_is_corrected(
    page: Any, screenshot: Callable[[str], None], dev_photos: Photos
) -> None:
    for name in GALLERY:
        enroll(name.replace("_", " "), dev_photos(name)[:5])
    train_now()
    log_in(page, make_user("olga", operator=True))
    stranger = dev_photos(STRANGER)

    # The same stranger, twice: unknown, with who came closest and what was needed.
    for photo in alone(stranger):
        identify(page, photo)
        assert answer_row(page).locator("td").first.inner_text() == "Unknown"
        assert re.fullmatch(
            r"closest: .+ — \d\.\d{3}, needs ≤ \d\.\d{3}",
            evidence(page).locator(".closest").inner_text(),
        )
    screenshot("identify-unknown-explained")

    # The inbox: one group of two.
    page.get_by_role("link", name="Unknown faces").click()
    groups = page.locator(".inbox-group")
    assert groups.count() == 1
    assert groups.first.get_attribute("data-count") == "2"
    assert groups.first.locator("h2").inner_text() == "2 faces"
    assert groups.first.locator("img.crop").count() == 2
    page.wait_for_function(
        "[...document.querySelectorAll('img.crop')].every((img) => img.naturalWidth > 0)"
    )
    screenshot("unknown-faces")
    assert fits_a_phone(page)
    page.set_viewport_size({"width": 1280, "height": 800})

    # Assign it to a new person.
    groups.first.get_by_label("or a new person named").fill("Muhammad Ali")
    groups.first.get_by_role("button", name="Assign").click()
    page.wait_for_selector(".message.success")
    assert "2 faces enrolled for Muhammad Ali" in page.locator(".message.success").inner_text()
    assert page.locator(".inbox-group").count() == 0
    assert Person.objects.get(name="Muhammad Ali").faces.count() == 2

    # Retrain (Q_SYNC: inside the request), then the same stranger is named.
    page.get_by_role("link", name="Train", exact=True).click()
    page.get_by_role("button", name="Start a training").click()
    page.wait_for_selector("#progress[data-finished='true']")
    identify(page, stranger[5])
    assert answer_row(page).locator("td").first.inner_text() == "Muhammad Ali"

    # A wrong answer (as far as the reviewer knows): "Not Kim Clijsters".
    kim = dev_photos("Kim_Clijsters")[6]
    identify(page, kim)
    assert answer_row(page).locator("td").first.inner_text() == "Kim Clijsters"
    explained = evidence(page)
    assert re.search(r"distance \d\.\d{3}, needs ≤ \d\.\d{3}", explained.inner_text())
    assert explained.locator("img.match").count() == 3
    page.wait_for_function(
        "[...document.querySelectorAll('img.match')].every((img) => img.naturalWidth > 0)"
    )
    screenshot("identify-named-explained")
    assert fits_a_phone(page)
    page.set_viewport_size({"width": 1280, "height": 800})
    explained.get_by_role("button", name="Not Kim Clijsters").click()
    page.wait_for_selector(".message.success")
    assert "is not Kim Clijsters" in page.locator(".message.success").inner_text()

    # The next identical request says unknown, and why.
    identify(page, kim)
    assert answer_row(page).locator("td").first.inner_text() == "Unknown"
    assert "corrected" in evidence(page).inner_text()
    screenshot("identify-corrected")

    page.get_by_role("link", name="History").click()
    assert page.locator(".corrections li", has_text="not Kim Clijsters").count() == 1
    assert page.locator(".corrections li", has_text="enrolled as Muhammad Ali").count() == 2
    screenshot("identifications-corrected")
