"""The admin's photo upload form: each new photo is checked by the enrollment service."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from people.models import FaceImage, Person
from people.selectors import person_same_name
from recognition.analysis import EnrollmentAnalysis
from recognition.ml.engine import EngineUnavailable
from recognition.rejections import DUPLICATE, PhotoRejected
from recognition.services.enroll import face_image_check


class FaceImageUploadForm(forms.ModelForm):
    photo = forms.FileField(
        required=False,
        allow_empty_file=True,  # the enrollment check says "empty" with its own code
        help_text="A photo of this person alone; it is checked for exactly one clear face.",
    )

    class Meta:
        model = FaceImage
        fields: list[str] = []

    analysis: EnrollmentAnalysis | None = None
    photo_name: str = ""

    def clean_photo(self) -> UploadedFile | None:
        upload: UploadedFile | None = self.cleaned_data.get("photo")
        if upload is None:
            return None
        name = upload.name or "photo"
        try:
            self.analysis = face_image_check(person=self._person(), source=upload, name=name)
        except PhotoRejected as rejection:
            raise ValidationError(
                f"{rejection.message} (reason: {rejection.code})", code=rejection.code
            ) from None
        except EngineUnavailable as exc:  # the server's face engine cannot run: say why
            raise ValidationError(str(exc), code="engine_unavailable") from None
        self.photo_name = name
        return upload

    def _person(self) -> Person | None:
        try:
            return self.instance.person
        except Person.DoesNotExist:
            return None


class FaceImageUploadFormSet(forms.BaseInlineFormSet):
    """Refuses the same photo twice in one submission (the database would, later)."""

    def clean(self) -> None:
        super().clean()
        seen: set[str] = set()
        for form in self.forms:
            analysis = getattr(form, "analysis", None)
            if not isinstance(form, FaceImageUploadForm) or analysis is None:
                continue
            if analysis.sha256 in seen:
                form.add_error(
                    "photo",
                    ValidationError(
                        f"{form.photo_name} is the same photo as another upload here "
                        f"(reason: {DUPLICATE})",
                        code=DUPLICATE,
                    ),
                )
                form.analysis = None
            seen.add(analysis.sha256)


class PersonAdminForm(forms.ModelForm):
    """The person form, with the web form's rule: a name someone already has (ignoring
    case) needs the box ticked, so a second record of one person is not made by accident."""

    allow_duplicate_name = forms.BooleanField(
        label="Allow a name someone already has",
        required=False,
        help_text="Tick only for a different person with the same name; to join two "
        "records of one person, use the action “Merge the selected people”.",
    )

    class Meta:
        model = Person
        fields = ["name", "external_id", "notes"]

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        name = cleaned.get("name")
        if not isinstance(name, str) or cleaned.get("allow_duplicate_name"):
            return cleaned
        unchanged = self.instance.pk is not None and name.strip().lower() == (
            self.instance.name.lower()
        )
        others = list(person_same_name(name=name, exclude_pk=self.instance.pk))
        if others and not unchanged:
            ids = ", ".join(f"#{person.pk}" for person in others)
            self.add_error(
                "name",
                ValidationError(
                    f"A person named “{others[0].name}” already exists ({ids}). Add photos to "
                    "them, or tick “Allow a name someone already has” for a namesake.",
                    code="duplicate_name",
                ),
            )
        return cleaned
