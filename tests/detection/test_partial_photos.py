"""A photo the storage could not finish writing leaves nothing behind, and an account's deletion its whole folder."""

import errno
import subprocess
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from accounts.models import User
from detection import services
from detection.models import Detection
from tests.detection.images import noisy_jpeg, upload
from tests.factories import TEST_PASSWORD


class HalfWrittenContent(ContentFile):
    """Content whose second chunk fails as a full disk does."""

    def chunks(self, chunk_size=None):
        yield self.read(1000)
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_write_that_fails_half_way_leaves_no_file(media_files):
    with pytest.raises(OSError):
        default_storage.save("photos/1/photo.jpg", HalfWrittenContent(b"x" * 5000))

    assert media_files() == []


def test_a_saved_photo_is_stored_whole_under_its_own_name(settings, media_files):
    name = default_storage.save("photos/1/photo.jpg", ContentFile(b"jpeg" * 1000))

    assert media_files() == [Path(settings.MEDIA_ROOT) / name]
    assert (Path(settings.MEDIA_ROOT) / name).read_bytes() == b"jpeg" * 1000


@pytest.fixture
def small_disk(settings, tmp_path):
    """MEDIA_ROOT on a 200 KB tmpfs (needs the right to mount: root outside a locked-down container)."""
    mount_point = tmp_path / "media"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mount_point)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    settings.MEDIA_ROOT = str(mount_point)
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=True)


def fill(disk: Path, *, leave: int) -> Path:
    """Fill the disk but for about `leave` bytes."""
    filler = disk / "filler"
    with filler.open("wb") as out:
        try:
            out.write(b"\0" * 1_000_000)
            out.flush()
        except OSError:
            pass
    filler.write_bytes(b"\0" * max(0, filler.stat().st_size - leave))
    return filler


def test_a_full_disk_answers_503_and_leaves_no_partial_photo(api_client, small_disk):
    photo = noisy_jpeg((600, 450))
    filler = fill(small_disk, leave=40_000)

    response = api_client.post(
        "/api/detections/", {"image": [upload(photo), upload(photo), upload(photo)]}, format="multipart"
    )

    assert response.status_code == 503
    assert "your photo was not saved" in response.json()["detail"]
    assert not Detection.objects.exists()
    assert [path for path in small_disk.rglob("*") if path.is_file()] == [filler]


def test_deleting_an_account_s_photos_removes_its_whole_folder(user, other_user, settings, media_files):
    services.detection_create(user=user, upload=upload(noisy_jpeg()))
    theirs = services.detection_create(user=other_user, upload=upload(noisy_jpeg()))
    folder = Path(settings.MEDIA_ROOT) / "photos" / str(user.pk)
    (folder / "0123456789abcdef.jpg").write_bytes(b"\xff\xd8 a photo cut short")  # left by an earlier failure
    (folder / "empty.jpg").write_bytes(b"")

    assert services.photos_delete_for(user=user) == 1

    assert not folder.exists()
    assert media_files() == [Path(settings.MEDIA_ROOT) / theirs.image.name]


def test_an_account_with_no_folder_is_deleted_as_before(user, media_files):
    assert services.photos_delete_for(user=user) == 0


def test_deleting_the_account_through_the_api_leaves_no_file_of_it(api_client, user, settings, media_files):
    services.detection_create(user=user, upload=upload(noisy_jpeg()))
    folder = Path(settings.MEDIA_ROOT) / "photos" / str(user.pk)
    (folder / "fedcba9876543210.jpg").write_bytes(b"\xff\xd8 a photo cut short")

    response = api_client.delete("/api/me/", {"password": TEST_PASSWORD}, format="json")

    assert response.status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()
    assert media_files() == [] and not folder.exists()
