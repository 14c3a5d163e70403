"""Clinical photos: checked, re-encoded without metadata and stored outside any public URL.

An upload must be a JPEG or PNG image (decoded by Pillow, not trusted by its name or its
declared type) no larger than settings.PHOTO_MAX_UPLOAD_BYTES and with no more pixels than
settings.PHOTO_MAX_PIXELS (read from the header, before decoding: a few kilobytes of PNG can
describe a picture that takes gigabytes once decoded). Pictures larger than
settings.PHOTO_MAX_SIDE are scaled down while they are decoded. It is re-encoded from its
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
from django.utils import timezone
from PIL import Image, ImageOps, UnidentifiedImageError

from clinic.audit import Actor, audit_record
from clinic.models import AuditEntry
from patients.models import ConsentDocument
from patients.selectors import consent_record_in_force
from treatments.models import Photo, TreatmentSession
from treatments.services import DOUBLE_POST_WINDOW, AlreadyRecorded

NO_PHOTOGRAPHY_CONSENT = (
    "No consent to clinical photography is in force for this patient (signed to the current text and "
    "not withdrawn): the patient signs it first, from their medical history page."
)
ALLOWED_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}
MEGAPIXEL = 1_000_000


def photo_root() -> Path:
    return Path(settings.PRIVATE_MEDIA_ROOT) / "treatment_photos"


def photo_path(photo: Photo) -> Path:
    path = (photo_root() / photo.path).resolve()
    if photo_root().resolve() not in path.parents:  # pragma: no cover - paths are generated here
        raise ValidationError("Invalid photo path.")
    return path


def _too_many_pixels(width: int, height: int) -> ValidationError:
    limit = settings.PHOTO_MAX_PIXELS / MEGAPIXEL
    return ValidationError(
        {
            "image": f"The photo is {width} x {height} pixels ({width * height / MEGAPIXEL:.0f} megapixels); "
            f"the limit is {limit:.0f} megapixels. Resize it and upload it again."
        }
    )


def _decode_bounded(data: bytes, image_format: str) -> Image.Image:
    """The picture, at most PHOTO_MAX_SIDE pixels on its longer side, decoded so that memory
    stays near one copy of the original's pixels at worst: a JPEG is decoded straight at a
    reduced scale (draft), a PNG is reduced by a whole factor right after decoding (and the
    full-size pixels let go) before the last step is resampled."""
    max_side = settings.PHOTO_MAX_SIDE
    image = Image.open(io.BytesIO(data))
    if image_format == "JPEG":
        image.draft("RGB", (max_side, max_side))
    image.load()
    factor = max(image.size) // max_side
    if factor >= 2:
        if image.mode in {"P", "1", "I;16", "I;16B", "I;16L"}:  # modes reduce() does not take
            smaller = image.resize((image.width // factor, image.height // factor), Image.Resampling.NEAREST)
        else:
            smaller = image.reduce(factor)
        smaller.info = dict(image.info)  # keeps the EXIF orientation for exif_transpose
        image.close()
        image = smaller
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=None)
    return image


def reencode_photo(upload) -> tuple[bytes, str, str, int, int]:
    """The upload as a clean JPEG or PNG: (bytes, content type, extension, width, height)."""
    max_bytes = settings.PHOTO_MAX_UPLOAD_BYTES
    if upload.size > max_bytes:
        raise ValidationError(
            {"image": f"The photo is {upload.size / 1_000_000:.1f} MB; the limit is {max_bytes / 1_000_000:.0f} MB."}
        )
    data = upload.read()
    try:
        # Opening reads the header only: the size is known before any pixel is decoded.
        with Image.open(io.BytesIO(data)) as probe:
            image_format = probe.format
            width, height = probe.size
            if width * height > settings.PHOTO_MAX_PIXELS:
                raise _too_many_pixels(width, height)
            probe.verify()
    except Image.DecompressionBombError:
        raise ValidationError({"image": "The photo has far too many pixels: resize it and upload it again."}) from None
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise ValidationError({"image": "This file is not a JPEG or PNG image."}) from None
    if image_format not in ALLOWED_FORMATS:
        raise ValidationError({"image": f"{image_format} images are not accepted: upload a JPEG or PNG."})
    try:
        with _decode_bounded(data, image_format) as image:
            upright = ImageOps.exif_transpose(image)
            content_type, extension = ALLOWED_FORMATS[image_format]
            # Copy the pixels into a new image: nothing of the original's metadata comes along.
            mode = "RGB" if image_format == "JPEG" else ("RGBA" if "A" in upright.getbands() else "RGB")
            clean = Image.new(mode, upright.size)
            clean.paste(upright if upright.mode == mode else upright.convert(mode))
            upright.close()
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
    if consent_record_in_force(session.patient, ConsentDocument.Procedure.PHOTOGRAPHY) is None:
        raise ValidationError(NO_PHOTOGRAPHY_CONSENT)
    payload, content_type, extension, width, height = reencode_photo(upload)
    relative = f"{session.patient_id}/{uuid.uuid4().hex}.{extension}"
    target = photo_root() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with transaction.atomic():
        # The session's row serialises two posts of the same upload: the second finds the first.
        TreatmentSession.objects.select_for_update().filter(pk=session.pk).first()
        _refuse_repeated_upload(session=session, kind=kind, view=view.strip(), payload=payload, actor=actor)
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


def _refuse_repeated_upload(*, session: TreatmentSession, kind: str, view: str, payload: bytes, actor: Actor) -> None:
    """The same picture (the same bytes once re-encoded) uploaded again a moment ago by the same
    person, as the same kind and view of the same session: a double post, stored once."""
    recent = Photo.objects.filter(
        session=session,
        kind=kind,
        view=view,
        uploaded_by=actor.user,
        size_bytes=len(payload),
        uploaded_at__gte=timezone.now() - DOUBLE_POST_WINDOW,
    )
    for photo in recent:
        try:
            same = photo_path(photo).read_bytes() == payload
        except FileNotFoundError:
            continue
        if same:
            raise AlreadyRecorded("This photo was uploaded a moment ago; it was not stored twice.", photo)


def photo_read(*, photo: Photo) -> bytes:
    """The photo's bytes. The view that serves them records the read in the audit trail."""
    try:
        return photo_path(photo).read_bytes()
    except FileNotFoundError:
        raise ValidationError("The photo file is missing from storage.") from None
