"""python manage.py train [--json]: train a model now, in this process, and activate it."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recognition.models import TrainedModel
from recognition.services.train import TrainingError, model_train, model_train_request


class Command(BaseCommand):
    help = "Train a model on every enrolled embedding and activate it (runs synchronously)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json", action="store_true", help="end with the metrics as one JSON line on stdout"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            job = model_train_request(enqueue=False)
        except TrainingError as exc:
            raise CommandError(str(exc)) from exc
        if job.status == TrainedModel.Status.RUNNING:
            raise CommandError(f"A training is already running (model #{job.pk}); try later.")
        self.stderr.write(f"training model #{job.pk} ...")
        try:
            model = model_train(model_id=job.pk)
        except TrainingError as exc:
            raise CommandError(str(exc)) from exc
        metrics = model.metrics or {}
        calibration = metrics.get("calibration", {})
        self.stdout.write(
            f"model #{model.pk} trained on {model.people_count} people, "
            f"{model.embedding_count} embeddings in {metrics.get('train_seconds', 0):.1f} s: "
            f"validation accuracy {metrics.get('val_accuracy', 0):.1%}, unknown beyond "
            f"distance {calibration.get('threshold')}; now active."
        )
        if options["json"]:
            self.stdout.write(json.dumps(metrics))
