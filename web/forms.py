"""Forms of the web UI: they parse and validate input; the services do the work."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from people.models import Person

# One request may carry many photos; more than this is almost surely a wrong folder.
MAX_FILES_PER_UPLOAD = 50
IMAGE_ACCEPT = "image/jpeg,image/png,image/webp,image/bmp,image/gif,image/tiff"


class PersonForm(forms.Form):
    name = forms.CharField(max_length=200)
    external_id = forms.CharField(
        label="External ID",
        max_length=200,
        required=False,
        help_text="Optional identifier from another system (employee number, ...).",
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    # Hidden until the name turns out to be taken; then a checkbox to confirm a namesake.
    allow_duplicate_name = forms.BooleanField(
        label="Yes, this is a different person with the same name",
        required=False,
        widget=forms.HiddenInput,
    )

    def offer_duplicate_name(self) -> None:
        field = self.fields["allow_duplicate_name"]
        field.widget = forms.CheckboxInput()


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """A file field that accepts several files and cleans to a list of them."""

    widget = MultipleFileInput

    def __init__(self, **kwargs: Any) -> None:
        # An empty file reaches the enrollment check, which refuses it by name.
        super().__init__(allow_empty_file=True, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        files = data if isinstance(data, list | tuple) else [data]
        files = [file for file in files if file]
        if not files:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        if len(files) > MAX_FILES_PER_UPLOAD:
            raise forms.ValidationError(
                f"{len(files)} files chosen; upload at most {MAX_FILES_PER_UPLOAD} at a time.",
                code="too_many",
            )
        return [single(file, initial) for file in files]


class PhotoUploadForm(forms.Form):
    photos = MultipleImageField(
        label="Photos",
        help_text="Choose or drop one or more photos, each showing this person alone.",
        widget=MultipleFileInput(attrs={"accept": IMAGE_ACCEPT}),
        error_messages={"required": "Choose at least one photo."},
    )


class IdentifyForm(forms.Form):
    image = forms.FileField(
        label="Photo",
        allow_empty_file=True,  # the identification service refuses it as unreadable_image
        help_text="Any photo: every face in it gets a box and a name, or Unknown.",
        widget=forms.ClearableFileInput(attrs={"accept": IMAGE_ACCEPT}),
        error_messages={"required": "Choose a photo or take one with the camera."},
    )


class IdentificationFilterForm(forms.Form):
    """The history's filters (a GET form: every field optional)."""

    person = forms.ModelChoiceField(
        queryset=Person.objects.order_by("name", "id"), required=False, empty_label="Anyone"
    )
    unknown_only = forms.BooleanField(label="Only with unknown faces", required=False)
    channel = forms.ChoiceField(required=False)
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, channels: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        channel = self.fields["channel"]
        assert isinstance(channel, forms.ChoiceField)
        channel.choices = [("", "Any"), *((name, name) for name in channels)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError("“From” must not be after “To”.")
        return cleaned

    def selector_kwargs(self) -> dict[str, Any]:
        """Arguments for recognition.selectors.identification_list (valid forms only)."""
        data = self.cleaned_data
        return {
            "person_id": data["person"].pk if data.get("person") else None,
            "unknown_only": bool(data.get("unknown_only")),
            "channel": data.get("channel") or "",
            "since": data.get("since"),
            "until": data.get("until"),
        }


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} (#{obj.pk})"  # namesakes are told apart by their number


class PersonMergeForm(forms.Form):
    into = PersonChoiceField(
        queryset=Person.objects.none(),
        label="Merge into",
        empty_label="Choose the person to keep",
        help_text="Their name stays; all photos end up with them.",
    )

    def __init__(self, *args: Any, source: Person, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        into = self.fields["into"]
        assert isinstance(into, forms.ModelChoiceField)
        into.queryset = Person.objects.exclude(pk=source.pk).order_by("name", "id")


class IdListField(forms.Field):
    """Repeated ``name=<id>`` values (checkboxes or hidden inputs) -> a list of ints."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        values = value if isinstance(value, list | tuple) else [value] if value else []
        try:
            return [int(item) for item in values]
        except (TypeError, ValueError):
            raise forms.ValidationError("Face ids are numbers.", code="invalid") from None

    def validate(self, value: list[int]) -> None:
        if not value:
            raise forms.ValidationError("Choose at least one face.", code="required")


class ReviewAssignForm(forms.Form):
    """Enroll unknown faces for an existing person or a new one."""

    face = IdListField()
    person = forms.ModelChoiceField(
        queryset=Person.objects.order_by("name", "id"),
        required=False,
        empty_label="Choose a person…",
        label="This is",
    )
    name = forms.CharField(max_length=200, required=False, label="or a new person named")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        person, name = data.get("person"), (data.get("name") or "").strip()
        if bool(person) == bool(name):
            raise forms.ValidationError("Choose a person or type a new name (not both).")
        return data


class ReviewFacesForm(forms.Form):
    face = IdListField()
