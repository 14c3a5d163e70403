"""Clinical photos are decoded within a memory bound: too many pixels are refused from the
header, before decoding; large pictures are scaled down while they are decoded."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, ImageDraw

from tests.factories import ConsentRecordFactory
from tests.treatments.factories import SignedSessionFactory
from treatments.models import Photo

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def flat_picture(size: tuple[int, int], fmt: str = "PNG", **save) -> bytes:
    """A highly compressible picture: a few hundred kilobytes for tens of megapixels."""
    image = Image.new("RGB", size, (214, 190, 180))
    ImageDraw.Draw(image).rectangle((0, 0, size[0] // 2, size[1] // 6), fill=(40, 30, 30))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def upload(client, session, payload: bytes, name: str = "face.png", content_type: str = "image/png"):
    ConsentRecordFactory(patient=session.patient, procedure="photography")  # photos need it
    url = reverse("treatments:photo_upload", args=[session.patient.pk, session.pk])
    image = SimpleUploadedFile(name, payload, content_type)
    return client.post(url, {"kind": "before", "view": "front", "image": image})


def test_a_picture_over_the_pixel_limit_is_refused_before_decoding(doctor_client, settings):
    settings.PHOTO_MAX_PIXELS = 40_000_000
    payload = flat_picture((8000, 6000))  # 48 megapixels in about 200 KB
    assert len(payload) < 400_000
    response = upload(doctor_client, SignedSessionFactory(), payload)
    assert response.status_code == 400
    body = response.content.decode()
    assert "8000 x 6000 pixels (48 megapixels)" in body
    assert "the limit is 40 megapixels" in body
    assert not Photo.objects.exists()


def test_the_pixel_limit_is_a_setting(doctor_client, settings):
    settings.PHOTO_MAX_PIXELS = 1_000_000
    response = upload(doctor_client, SignedSessionFactory(), flat_picture((1200, 1000)))
    assert response.status_code == 400
    assert "the limit is 1 megapixels" in response.content.decode()


@pytest.mark.parametrize(
    ("fmt", "name", "content_type"), [("PNG", "face.png", "image/png"), ("JPEG", "face.jpg", "image/jpeg")]
)
def test_a_large_picture_is_scaled_down_before_it_is_stored(doctor_client, settings, fmt, name, content_type):
    settings.PHOTO_MAX_SIDE = 3000
    payload = flat_picture((6000, 4500), fmt=fmt)
    response = upload(doctor_client, SignedSessionFactory(), payload, name, content_type)
    assert response.status_code == 302
    photo = Photo.objects.get()
    assert (photo.width, photo.height) == (3000, 2250)
    stored = settings.PRIVATE_MEDIA_ROOT / "treatment_photos" / photo.path
    with Image.open(stored) as image:
        assert image.size == (3000, 2250)
        assert image.format == fmt
        # The picture is still the picture: the dark band stays top left.
        assert image.convert("RGB").getpixel((10, 10))[0] < 80
        assert image.convert("RGB").getpixel((2900, 2200))[0] > 180


def test_a_rotated_jpeg_stays_upright_once_scaled_down(doctor_client, settings):
    settings.PHOTO_MAX_SIDE = 1000
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    payload = flat_picture((3000, 2000), fmt="JPEG", exif=exif.tobytes())
    response = upload(doctor_client, SignedSessionFactory(), payload, "face.jpg", "image/jpeg")
    assert response.status_code == 302
    photo = Photo.objects.get()
    assert (photo.width, photo.height) == (667, 1000)


def test_a_large_png_is_decoded_within_a_memory_bound(tmp_path):
    """A 120 KB, 6000 x 6000 PNG: decoding it once takes 108 MB; the re-encoding must not
    make several full-size copies on top (it took about 550 MB before it was bounded).
    Measured in a fresh process, as the growth of its peak resident memory."""
    picture = tmp_path / "big.png"
    picture.write_bytes(flat_picture((6000, 6000)))
    assert picture.stat().st_size < 200_000
    script = (
        "import resource, sys, django\n"
        "django.setup()\n"
        "from django.core.files.uploadedfile import SimpleUploadedFile\n"
        "from treatments.photos import reencode_photo\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "_, _, _, width, height = reencode_photo(SimpleUploadedFile('big.png', data, 'image/png'))\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(width, height, (after - before) // 1024)\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DEBUG": "true",
        "PHOTO_MAX_SIDE": "3000",
        "PHOTO_MAX_PIXELS": "40000000",
    }
    result = subprocess.run(  # noqa: S603 - our own code
        [sys.executable, "-c", script, str(picture)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    width, height, growth_mb = (int(part) for part in result.stdout.split())
    assert (width, height) == (3000, 3000)
    assert growth_mb < 250, f"re-encoding a 6000 x 6000 PNG grew the process by {growth_mb} MB"
