"""Reads for people."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from people.models import Person


def person_list(*, search: str = "") -> QuerySet[Person]:
    """People, with ``face_count``, optionally filtered by name or external id."""
    queryset = Person.objects.annotate(face_count=Count("faces", distinct=True))
    search = search.strip()
    if search:
        queryset = queryset.filter(Q(name__icontains=search) | Q(external_id__icontains=search))
    return queryset.order_by("name", "id")
