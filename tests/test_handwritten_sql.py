"""The hand-written SQL helpers read and write what the ORM would (both databases in CI)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from facerecog_site.handwritten_sql import columns, insert, instance, table
from recognition.models import Identification


@pytest.mark.django_db
def test_insert_writes_rows_the_orm_reads_back_whole(django_assert_num_queries):
    user = User.objects.create_user("vera", email="vera@example.org")
    before = timezone.now()
    rows = [
        Identification(user=user, channel="api", image_sha256="a" * 64, results=[{"n": 1}]),
        Identification(channel="cli", image_sha256="b" * 64, results=[{"name": "Zoë"}]),
    ]
    with django_assert_num_queries(1):
        insert(rows)
    assert all(row.pk and not row._state.adding for row in rows)
    first, second = (Identification.objects.get(pk=row.pk) for row in rows)
    assert (first.user, first.channel, first.results) == (user, "api", [{"n": 1}])
    assert (second.user, second.results) == (None, [{"name": "Zoë"}])
    assert before <= first.created_at == rows[0].created_at <= timezone.now()  # auto_now_add
    links = Identification.people.through
    insert([])  # nothing to write: no query
    assert not links.objects.exists()


@pytest.mark.django_db
def test_instance_reads_a_row_as_the_orm_does():
    user = User.objects.create_user("olga", first_name="Olga")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns(User)} FROM {table(User)}")  # noqa: S608
        [row] = cursor.fetchall()
    read = instance(User, row)
    expected = User.objects.get(pk=user.pk)
    assert read.__dict__.keys() >= {"id", "username", "date_joined"}
    for field in User._meta.concrete_fields:
        assert getattr(read, field.attname) == getattr(expected, field.attname), field.name
    assert timezone.is_aware(read.date_joined) and not read._state.adding
