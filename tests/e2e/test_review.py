"""Gallery consistency in a real browser: a misfiled photo is flagged, a namesake needs a
confirmation, two records are merged."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse

from tests.e2e.test_browser_flow import Photos, log_in
from tests.e2e.test_layout import overflows
from tests.web_support import enroll, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_photo_of_kim_uploaded_to_tom_is_flagged_as_looking_like_kim(
    page: Any, screenshot: Callable[[str], None], dev_photos: Photos
) -> None:
    from people.models import Person

    people = {}
    for folder in ("Kim_Clijsters", "Tom_Cruise", "Arnold_Schwarzenegger"):
        people[folder] = Person.objects.create(name=folder.replace("_", " "))
        enroll(people[folder], dev_photos(folder)[:4])
    tom = people["Tom_Cruise"]
    log_in(page, make_user("olga", operator=True))
    page.goto(reverse("web:person_detail", args=[tom.pk]))
    misfiled = dev_photos("Kim_Clijsters")[6]
    page.get_by_label("Photos", exact=True).set_input_files(
        [str(dev_photos("Tom_Cruise")[6]), str(misfiled)]
    )
    page.get_by_role("button", name="Enroll photos").click()
    page.wait_for_selector("#upload-results")
    results = page.locator("#upload-results li")
    assert results.count() == 2
    assert results.nth(0).inner_text() == f"Enrolled: {dev_photos('Tom_Cruise')[6].name}"
    warned = results.nth(1)
    assert warned.locator("[data-warning='looks_like']").count() == 1
    assert "Check: This face looks like Kim Clijsters" in warned.inner_text()
    # The gallery marks that photo, and only that one, linking to the look-alike.
    flagged = page.locator(".gallery .photo.flagged")
    assert flagged.count() == 1
    assert misfiled.name in flagged.inner_text()
    link = flagged.get_by_role("link", name="Kim Clijsters")
    assert link.get_attribute("href") == reverse(
        "web:person_detail", args=[people["Kim_Clijsters"].pk]
    )
    assert (
        page.locator("#flagged-notice").inner_text().startswith("1 photo may not show Tom Cruise")
    )
    assert overflows(page, "person page with a warning") == []
    screenshot("person-flagged")


def test_a_namesake_needs_a_confirmation_then_the_two_records_are_merged(
    page: Any, screenshot: Callable[[str], None], dev_photos: Photos
) -> None:
    from people.models import Person

    kim = Person.objects.create(name="Kim Clijsters")
    enroll(kim, dev_photos("Kim_Clijsters")[:3])
    arnold = Person.objects.create(name="Arnold Schwarzenegger")
    enroll(arnold, dev_photos("Arnold_Schwarzenegger")[:3])
    log_in(page, make_user("olga", operator=True))
    page.goto(reverse("web:person_create"))
    page.get_by_label("Name").fill("kim clijsters")
    page.get_by_role("button", name="Add person").click()
    notice = page.locator("#name-taken")
    assert notice.inner_text().startswith(
        f"A person named “Kim Clijsters” already exists (#{kim.pk})."
    )
    assert overflows(page, "name taken") == []
    screenshot("person-name-taken")
    assert Person.objects.count() == 2
    page.get_by_label("Yes, this is a different person with the same name").check()
    page.get_by_role("button", name="Add person").click()
    page.wait_for_selector("h1:text-is('kim clijsters')")
    second = Person.objects.get(name="kim clijsters")
    page.get_by_label("Photos", exact=True).set_input_files(
        [str(path) for path in dev_photos("Kim_Clijsters")[3:5]]
    )
    page.get_by_role("button", name="Enroll photos").click()
    page.wait_for_selector("#upload-results")
    # The second record of Kim: its first photos look like the first record.
    assert page.locator("#upload-results [data-warning='looks_like']").count() == 2

    page.get_by_role("link", name="Merge…").click()
    assert page.get_by_label("Merge into").input_value() == str(kim.pk)
    assert overflows(page, "merge") == []
    screenshot("person-merge")
    page.get_by_role("button", name="Merge").click()
    page.wait_for_url(re.compile(rf"/people/{kim.pk}/$"))
    assert "kim clijsters was merged into Kim Clijsters: 2 photos moved." in (
        page.locator(".messages").inner_text()
    )
    assert page.locator(".gallery .photo").count() == 5
    assert page.locator(".gallery .photo.flagged").count() == 0
    assert not Person.objects.filter(pk=second.pk).exists()
