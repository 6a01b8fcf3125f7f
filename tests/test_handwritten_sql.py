"""The hand-written SQL helpers read and write what the ORM would (both databases in CI)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from facerecog_site.handwritten_sql import columns, insert, insert_family, instance, table
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


BOX = {"box_top": 1, "box_right": 9, "box_bottom": 9, "box_left": 1}


@pytest.mark.django_db
def test_insert_family_writes_a_parent_and_its_children_whole(django_assert_max_num_queries):
    from people.models import Person
    from recognition.models import ReviewFace

    tom = Person.objects.create(name="Tom")
    kim = Person.objects.create(name="Kim")
    record = Identification(channel="api", image_sha256="c" * 64, results=[])
    links = [Identification.people.through(person_id=p.pk) for p in (tom, kim)]
    faces = [
        ReviewFace(index=i, crop=f"review/{i}.jpg", data=b"x", encoder="e", distance=0.5, **BOX)
        for i in range(2)
    ]
    # One statement on PostgreSQL; a transaction of three INSERTs on SQLite.
    with django_assert_max_num_queries(1 if connection.vendor == "postgresql" else 5):
        insert_family(record, [*links, *faces], link="identification")
    assert record.pk and all(child.pk for child in [*links, *faces])
    stored = Identification.objects.get(pk=record.pk)
    assert set(stored.people.all()) == {tom, kim}
    assert [(f.pk, f.index, f.crop.name) for f in stored.review_faces.order_by("index")] == [
        (faces[0].pk, 0, "review/0.jpg"),
        (faces[1].pk, 1, "review/1.jpg"),
    ]


@pytest.mark.django_db
def test_insert_family_leaves_nothing_when_a_child_fails():
    from recognition.models import ReviewFace

    record = Identification(channel="api", image_sha256="d" * 64, results=[])
    bad = ReviewFace(index=0, crop="review/x.jpg", data=b"x", encoder=None, distance=0.5, **BOX)
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_family(record, [bad], link="identification")
    assert not Identification.objects.filter(image_sha256="d" * 64).exists()
