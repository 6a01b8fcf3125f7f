"""Which trained model answers: activate one (rollback), prune old model files.

Training activates its own result through :func:`model_make_active` once the file
reads back whole; the admin, the API and the web page roll back with
:func:`model_activate`. Requests and activations take :func:`trained_models_lock` so
that neither interleaves with another.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction

from recognition.loading import ModelLoadError, active_model_changed, load_model
from recognition.model_files import model_file_delete
from recognition.models import TrainedModel
from recognition.services.erasure import ERASED_NOTE

Status = TrainedModel.Status


class ModelNotActivatable(Exception):
    """Only a succeeded model with a loadable file can be activated."""


def trained_models_lock() -> None:
    """Serialise training requests and activations inside the current transaction."""
    table = TrainedModel._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Conflicts with itself and with row writes, not with plain reads.
            cursor.execute(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE')
    else:
        # SQLite: a transaction's first write takes the database write lock (waiting up
        # to the configured timeout), so nobody can insert between our check and insert.
        TrainedModel.objects.filter(pk=-1).update(status=Status.QUEUED)


def model_make_active(*, model_id: int) -> None:
    """Mark ``model_id`` the one active model (call inside a transaction)."""
    TrainedModel.objects.filter(is_active=True).exclude(pk=model_id).update(is_active=False)
    TrainedModel.objects.filter(pk=model_id).update(is_active=True)
    # This process's requests ask again at once (and after the commit, in case one asked
    # in between); the others within loading.ACTIVE_RECHECK_SECONDS.
    active_model_changed()
    transaction.on_commit(active_model_changed)


def model_activate(*, model: TrainedModel) -> TrainedModel:
    """Make an earlier model the active one (rollback)."""
    model.refresh_from_db()
    if model.status != Status.SUCCEEDED:
        raise ModelNotActivatable(
            f"model #{model.pk} is {model.status}; only a model whose training succeeded "
            "can be activated."
        )
    if not model.file and ERASED_NOTE in model.error:
        raise ModelNotActivatable(f"model #{model.pk} cannot be activated: {ERASED_NOTE}")
    try:
        load_model(model)
    except ModelLoadError as exc:
        raise ModelNotActivatable(str(exc)) from exc
    with transaction.atomic():
        trained_models_lock()
        model_make_active(model_id=model.pk)
    model.refresh_from_db()
    return model


def models_prune() -> list[int]:
    """Remove the files of succeeded models beyond FACE_MODELS_KEEP (never the active one).

    The rows stay (history, audit); their ``file`` is cleared. Returns their ids.
    """
    keep = max(1, settings.FACE_MODELS_KEEP)
    with_files = TrainedModel.objects.exclude(file="").order_by("-finished_at", "-id")
    pruned = []
    for model in list(with_files)[keep:]:
        if model.is_active:
            continue
        model_file_delete(name=model.file)
        model_file_delete(name=(model.metrics or {}).get("search_index", ""))
        TrainedModel.objects.filter(pk=model.pk).update(file="")
        pruned.append(model.pk)
    return pruned
