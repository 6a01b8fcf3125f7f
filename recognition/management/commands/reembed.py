"""python manage.py reembed [--json] [--no-train]: every photo again with FACE_ENGINE.

Runs in this process (the admin button queues the same job for the task queue), with a
progress line on stderr, lists the photos the engine finds no usable face in, then trains
and activates a model on the new embeddings. Running it again re-embeds nothing that is
already done; a run stopped half-way continues where it stopped.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recognition.models import ReembedJob, TrainedModel
from recognition.services.reembed import ReembedError, reembed_request, reembed_run
from recognition.services.train import TrainingError, model_train

Status = TrainedModel.Status


class Command(BaseCommand):
    help = "Re-embed every stored photo with FACE_ENGINE, then train a model (synchronously)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="end with one JSON line")
        parser.add_argument(
            "--no-train", action="store_true", help="only re-embed; train later yourself"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        job = reembed_request(enqueue=False)
        if job.status == ReembedJob.Status.RUNNING:
            raise CommandError(
                f"A re-embedding is already running (#{job.pk}, {job.done} of {job.total} "
                "photos); try later."
            )
        self.stderr.write(f"re-embedding every photo with {job.engine} (job #{job.pk}) ...")
        try:
            job = reembed_run(
                job_id=job.pk,
                train=not options["no_train"],
                enqueue_training=False,
                progress=self.progress,
            )
        except ReembedError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write("")
        for photo in job.unusable:
            self.stderr.write(
                f"no usable face: {photo['file']} ({photo['person']}, photo "
                f"#{photo['face_image_id']}): {photo['detail']}"
            )
        self.stdout.write(
            f"re-embedded {job.reembedded} of {job.total} photos with {job.engine} "
            f"({job.engine_version}); {len(job.unusable)} without a usable face."
        )
        model_id = None
        if job.trained_model is not None and job.trained_model.status == Status.RUNNING:
            self.stdout.write(
                f"a training is already running (model #{job.trained_model.pk}); train again "
                "when it ends to use the new embeddings."
            )
        elif job.trained_model_id is not None:
            try:
                model = model_train(model_id=job.trained_model_id)
            except TrainingError as exc:
                raise CommandError(f"re-embedded, but training failed: {exc}") from exc
            model_id = model.pk
            self.stdout.write(
                f"model #{model.pk} trained on {model.embedding_count} {model.engine} "
                "embeddings; now active."
            )
        if options["json"]:
            report = {
                "job": job.pk,
                "engine": job.engine,
                "engine_version": job.engine_version,
                "total": job.total,
                "reembedded": job.reembedded,
                "unusable": job.unusable,
                "model_id": model_id,
            }
            self.stdout.write(json.dumps(report))

    def progress(self, job: ReembedJob) -> None:
        self.stderr.write(f"\r{job.done}/{job.total} photos", ending="")
        self.stderr.flush()
