"""Who someone is, and the photos they were enrolled from."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.urls import reverse


class Person(models.Model):
    name = models.CharField(max_length=200)
    external_id = models.CharField(
        max_length=200,
        unique=True,
        null=True,
        blank=True,
        help_text="Optional identifier from another system (employee number, ...).",
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["name", "id"]
        verbose_name_plural = "people"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("web:person_detail", args=[self.pk])


def face_upload_to(instance: FaceImage, filename: str) -> str:
    # Never the uploaded name: it may carry personal data or path tricks.
    suffix = PurePosixPath(filename).suffix.lower() or ".jpg"
    return f"faces/{uuid.uuid4().hex}{suffix}"


class FaceImage(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="faces")
    image = models.FileField(upload_to=face_upload_to, max_length=255)
    sha256 = models.CharField(max_length=64, help_text="Hash of the uploaded bytes.")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # The enrolled face, in original-image pixel coordinates.
    box_top = models.PositiveIntegerField()
    box_right = models.PositiveIntegerField()
    box_bottom = models.PositiveIntegerField()
    box_left = models.PositiveIntegerField()
    original_name = models.CharField(
        max_length=255, blank=True, help_text="Uploaded file name, for display only."
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["person", "uploaded_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "sha256"], name="faceimage_unique_content_per_person"
            )
        ]

    def __str__(self) -> str:
        return f"{self.person} #{self.pk}"

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(top, right, bottom, left) in original-image pixels."""
        return (self.box_top, self.box_right, self.box_bottom, self.box_left)
