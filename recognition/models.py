"""Embeddings, trained models and the identification audit trail."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
from django.conf import settings
from django.db import models
from django.db.models import Q

from people.models import FaceImage, Person
from recognition.ml.faces import EMBEDDING_DIM


class Embedding(models.Model):
    face_image = models.OneToOneField(FaceImage, on_delete=models.CASCADE, related_name="embedding")
    # 128 little-endian float32 values, 512 bytes: compact and exact.
    data = models.BinaryField()
    # Vectors of different engines (or versions) live in different spaces and must never
    # be compared: training refuses a gallery that mixes them (see `manage.py reembed`).
    engine = models.CharField(max_length=20, help_text="Face engine: opencv or dlib.")
    engine_version = models.CharField(
        max_length=100, help_text="Which models of the engine produced the vector."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["engine", "engine_version"])]

    def __str__(self) -> str:
        return f"embedding of {self.face_image}"

    def vector(self) -> np.ndarray:
        """The embedding as float32, shape (128,)."""
        return self.unpack(self.data).astype(np.float32)

    @staticmethod
    def unpack(data: bytes | memoryview) -> np.ndarray:
        """512 stored bytes -> a read-only little-endian float32 view, shape (128,)."""
        return np.frombuffer(bytes(data), dtype="<f4")

    @staticmethod
    def pack(vector: np.ndarray) -> bytes:
        """float array of shape (128,) -> 512 bytes."""
        array = np.asarray(vector, dtype="<f4")
        if array.shape != (EMBEDDING_DIM,):
            raise ValueError(f"an embedding has shape ({EMBEDDING_DIM},), got {array.shape}")
        return array.tobytes()


class TrainedModel(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Written by the worker every few seconds and each epoch while it trains: a running
    # job silent for FACE_TRAIN_HEARTBEAT seconds has lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    epoch = models.PositiveIntegerField(default=0)
    epochs = models.PositiveIntegerField(default=0)
    file = models.CharField(
        max_length=255, blank=True, help_text="Path of the model file, relative to MEDIA_ROOT."
    )
    format_version = models.PositiveIntegerField(null=True, blank=True)
    # Output index (as a string key) -> {"person_id": int, "name": str}.
    label_map = models.JSONField(default=dict, blank=True)
    people_count = models.PositiveIntegerField(default=0)
    embedding_count = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    is_active = models.BooleanField(default=False)
    # The engine of the embeddings it was trained on; identification embeds with it.
    engine = models.CharField(max_length=20, blank=True)
    engine_version = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=Q(is_active=True),
                name="trainedmodel_one_active",
            )
        ]
        permissions = [("activate_trainedmodel", "Can activate a trained model")]

    def __str__(self) -> str:
        return f"model #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.SUCCEEDED, self.Status.FAILED}

    @property
    def progress(self) -> float:
        """Share of the planned epochs done, 0..1 (1 once the training succeeded)."""
        if self.status == self.Status.SUCCEEDED:
            return 1.0
        return min(self.epoch / self.epochs, 1.0) if self.epochs else 0.0

    @property
    def progress_text(self) -> str:
        """The progress in words, as the admin and the web pages show it."""
        epochs = self.epochs or 0
        if self.status == self.Status.QUEUED:
            return "Waiting for a worker to start the training…"
        if self.status == self.Status.RUNNING:
            return f"Epoch {self.epoch} of {epochs}" if epochs else "Preparing the training…"
        if self.status == self.Status.SUCCEEDED:
            text = f"Done: stopped after epoch {self.epoch} of {epochs}"
            accuracy = self.validation_accuracy
            return text if accuracy is None else f"{text}, validation accuracy {accuracy:.1%}"
        return f"Failed: {self.error or 'no reason recorded'}"

    @property
    def validation_accuracy(self) -> float | None:
        value: Any = (self.metrics or {}).get("val_accuracy")
        return float(value) if value is not None else None


class ReembedJob(models.Model):
    """Re-embedding every stored photo with one engine (``manage.py reembed``, the button).

    Progress is the photos done; each photo is committed on its own, so a job resumed
    after a killed worker (or a new request) continues where the data stands.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    engine = models.CharField(max_length=20)
    engine_version = models.CharField(max_length=100, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0, help_text="Photos to re-embed.")
    done = models.PositiveIntegerField(default=0, help_text="Photos handled so far.")
    reembedded = models.PositiveIntegerField(default=0)
    # [{"face_image_id", "person_id", "person", "file", "code", "detail"}]: photos the
    # engine finds no usable face in (kept, without an embedding, until re-embedded).
    unusable = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    trained_model = models.ForeignKey(
        TrainedModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        permissions = [("run_reembedjob", "Can re-embed every photo with another engine")]

    def __str__(self) -> str:
        return f"re-embedding #{self.pk} with {self.engine} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.SUCCEEDED, self.Status.FAILED}

    @property
    def progress(self) -> float:
        return min(1.0, self.done / self.total) if self.total else float(self.is_finished)


class Identification(models.Model):
    """One answered identification request: who asked, what was answered.

    The photo itself is not kept, its hash is; each face's crop and embedding are kept
    for review for FACE_REVIEW_KEEP_DAYS days only (:class:`ReviewFace`).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    channel = models.CharField(
        max_length=32, help_text="web, api, api-token:<id>, cli, prototype ..."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    model = models.ForeignKey(
        TrainedModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    image_sha256 = models.CharField(max_length=64)
    face_count = models.PositiveIntegerField(default=0)
    known_count = models.PositiveIntegerField(default=0)
    # [{"box": [t, r, b, l], "person_id": int|None, "name": str|None,
    #   "confidence": float|None (None when unknown), "distance": float}]
    results = models.JSONField(default=list, blank=True)
    people = models.ManyToManyField(Person, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"identification #{self.pk} ({self.face_count} faces)"


def review_crop_upload_to(instance: ReviewFace, filename: str) -> str:
    return f"review/{uuid.uuid4().hex}.jpg"


class ReviewFace(models.Model):
    """A face from an identification, kept for review for FACE_REVIEW_KEEP_DAYS days.

    Biometric data: a JPEG crop around the face and its embedding. A face answered
    "unknown" (``person`` None) is in the unknown-faces inbox; a named one can be
    corrected ("not this person"). Purged when old (recognition.tasks), deleted with the
    person it was named (erasure), and once assigned or dismissed.
    """

    identification = models.ForeignKey(
        Identification, on_delete=models.CASCADE, related_name="review_faces"
    )
    index = models.PositiveIntegerField(help_text="Position of the face in the answer, from 0.")
    crop = models.FileField(upload_to=review_crop_upload_to, max_length=255)
    data = models.BinaryField(help_text="The embedding, like Embedding.data.")
    encoder = models.CharField(max_length=150, help_text="engine/version of the embedding.")
    box_top = models.PositiveIntegerField()
    box_right = models.PositiveIntegerField()
    box_bottom = models.PositiveIntegerField()
    box_left = models.PositiveIntegerField()
    # Who the answer named; None = unknown (in the inbox). Named faces go with that person.
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    distance = models.FloatField()
    seen_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["seen_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["identification", "index"], name="reviewface_one_per_answer_face"
            )
        ]

    def __str__(self) -> str:
        return f"face {self.index + 1} of identification #{self.identification_id}"

    def vector(self) -> np.ndarray:
        return Embedding.unpack(self.data).astype(np.float32)


class Correction(models.Model):
    """A reviewer's correction of an answer, kept in the audit trail.

    ``not_person``: the face named ``person`` is not them; its embedding (``data``) is a
    negative example for that person from then on (deleted with the person). ``assigned``:
    an unknown face was enrolled for ``person``. ``dismissed``: unknown faces thrown away.
    """

    class Kind(models.TextChoices):
        NOT_PERSON = "not_person", "Not this person"
        ASSIGNED = "assigned", "Assigned to a person"
        DISMISSED = "dismissed", "Dismissed"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    identification = models.ForeignKey(
        Identification,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="corrections",
    )
    face_index = models.PositiveIntegerField(null=True, blank=True)
    # A negative example goes with its person; the audit of assignments and dismissals
    # stays (SET_NULL cannot express that per kind, so erasure deletes not_person rows).
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.BinaryField(blank=True, default=b"", help_text="not_person: the embedding.")
    encoder = models.CharField(max_length=150, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.person or 'nobody'})"

    def vector(self) -> np.ndarray:
        return Embedding.unpack(self.data).astype(np.float32)
