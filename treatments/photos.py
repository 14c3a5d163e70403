"""Clinical photos: checked, re-encoded without metadata and stored outside any public URL.

An upload must be a JPEG or PNG image (decoded by Pillow, not trusted by its name or its
declared type) no larger than settings.PHOTO_MAX_UPLOAD_BYTES. It is re-encoded from its
pixels only, so EXIF data (camera, time, GPS location) is never stored; the orientation is
applied first so the picture stays upright. Files live under settings.PRIVATE_MEDIA_ROOT and
are served by a permission-checked, audited view. A photo is taken only with the patient's
consent to clinical photography in force (signed to the current text, not withdrawn).
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from clinic.audit import Actor, audit_record
from clinic.models import AuditEntry
from patients.models import ConsentDocument
from patients.selectors import consent_in_force
from treatments.models import Photo, TreatmentSession

NO_PHOTOGRAPHY_CONSENT = (
    "No consent to clinical photography is in force for this patient (signed to the current text and "
    "not withdrawn): the patient signs it first, from their medical history page."
)
ALLOWED_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}
MAX_PIXELS = 40_000_000  # refuse decompression bombs long before Pillow's own limit


def photo_root() -> Path:
    return Path(settings.PRIVATE_MEDIA_ROOT) / "treatment_photos"


def photo_path(photo: Photo) -> Path:
    path = (photo_root() / photo.path).resolve()
    if photo_root().resolve() not in path.parents:  # pragma: no cover - paths are generated here
        raise ValidationError("Invalid photo path.")
    return path


def _reencode(upload) -> tuple[bytes, str, str, int, int]:
    max_bytes = settings.PHOTO_MAX_UPLOAD_BYTES
    if upload.size > max_bytes:
        raise ValidationError(
            {"image": f"The photo is {upload.size / 1_000_000:.1f} MB; the limit is {max_bytes / 1_000_000:.0f} MB."}
        )
    data = upload.read()
    try:
        with Image.open(io.BytesIO(data)) as probe:
            image_format = probe.format
            width, height = probe.size
            probe.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError):
        raise ValidationError({"image": "This file is not a JPEG or PNG image."}) from None
    if image_format not in ALLOWED_FORMATS:
        raise ValidationError({"image": f"{image_format} images are not accepted: upload a JPEG or PNG."})
    if width * height > MAX_PIXELS:
        raise ValidationError({"image": "The photo has too many pixels: resize it below 40 megapixels."})
    try:
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)
            content_type, extension = ALLOWED_FORMATS[image_format]
            # Copy the pixels into a new image: nothing of the original's metadata comes along.
            mode = "RGB" if image_format == "JPEG" else ("RGBA" if "A" in image.getbands() else "RGB")
            clean = Image.new(mode, image.size)
            clean.paste(image.convert(mode))
            output = io.BytesIO()
            if image_format == "JPEG":
                clean.save(output, format="JPEG", quality=90, optimize=True)
            else:
                clean.save(output, format="PNG", optimize=True)
            return output.getvalue(), content_type, extension, clean.width, clean.height
    except (OSError, ValueError, Image.DecompressionBombError):
        raise ValidationError({"image": "This image could not be read: it may be damaged."}) from None


def photo_upload(*, session: TreatmentSession, upload, kind: str, view: str, actor: Actor) -> Photo:
    if kind not in Photo.Kind.values:
        raise ValidationError({"kind": "Say whether the photo is before or after the session."})
    if consent_in_force(session.patient, ConsentDocument.Procedure.PHOTOGRAPHY) is None:
        raise ValidationError(NO_PHOTOGRAPHY_CONSENT)
    payload, content_type, extension, width, height = _reencode(upload)
    relative = f"{session.patient_id}/{uuid.uuid4().hex}.{extension}"
    target = photo_root() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with transaction.atomic():
        photo = Photo(
            patient_id=session.patient_id,
            session=session,
            kind=kind,
            view=view.strip(),
            path=relative,
            content_type=content_type,
            width=width,
            height=height,
            size_bytes=len(payload),
            uploaded_by=actor.user,
        )
        photo.full_clean()
        target.write_bytes(payload)
        try:
            photo.save()
            audit_record(actor=actor, action=AuditEntry.Action.CREATE, patient=session.patient, obj=photo)
        except Exception:
            target.unlink(missing_ok=True)
            raise
    return photo


def photo_read(*, photo: Photo) -> bytes:
    """The photo's bytes. The view that serves them records the read in the audit trail."""
    try:
        return photo_path(photo).read_bytes()
    except FileNotFoundError:
        raise ValidationError("The photo file is missing from storage.") from None
