"""Reading a Deepen dataset's data files back: the upload it was created from (``labelsync import``).

Deepen keeps the file a dataset was created with and gives a signed link to it
(``GET /datasets/{id}/uploaded_dataset_signed_media_link``, ``api/deepen.md`` §3.1). For
images and 3d datasets that file is a zip whose entry names are the items' remote paths;
for a video dataset it is the video itself. The link is its own credential: it is fetched
through the client's storage client (no ``Authorization`` header) and never printed.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

from typing_extensions import TypedDict

from labelsync.errors import NotFoundError, RemoteError, UnsupportedError
from labelsync.providers.answers import wire
from labelsync.providers.http import MAX_BYTES, raise_for_api, translate_transport_errors

MAX_UPLOAD_BYTES = 64 * 1024**3
"""The largest upload read back (a dataset's whole zip is read into memory)."""


@wire
class _MediaLink(TypedDict):
    uploaded_dataset_signed_media_link: str


def uploaded_bytes(client: Any, dataset_id: str) -> bytes:
    """The bytes of the file ``dataset_id`` was created from.

    Raises :class:`UnsupportedError` when the remote gives no link (a server without the
    route, or a dataset whose upload never completed)."""
    try:
        body = client.call("GET", f"datasets/{dataset_id}/uploaded_dataset_signed_media_link",
                           what="find the uploaded data", shape=_MediaLink)
    except NotFoundError:
        raise UnsupportedError(
            "this Deepen remote gives no link to the dataset's uploaded data, so its files cannot be read",
            hint="import without --with-data and copy the data files next to the manifest yourself",
        ) from None
    link = body["uploaded_dataset_signed_media_link"]
    with translate_transport_errors("download the uploaded data"):
        response = client.storage.get(link, extensions={MAX_BYTES: MAX_UPLOAD_BYTES})
    raise_for_api(response, what="download the uploaded data")
    return bytes(response.content)


def zip_entry(data: bytes, remote_path: str, *, dataset_type: str) -> bytes:
    """The bytes of ``remote_path`` in the upload ``data`` (a zip; a video dataset's only file
    is the upload itself). :class:`RemoteError` when the upload does not hold it."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        if dataset_type == "video":
            return data
        raise RemoteError("the dataset's uploaded data is not a zip", hint="nothing was written")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        try:
            return archive.read(remote_path)
        except KeyError:
            raise RemoteError(f"the dataset's uploaded zip holds no {remote_path!r}", hint="nothing was written") from None
        except (zipfile.BadZipFile, OSError) as exc:
            raise RemoteError(f"the dataset's uploaded zip cannot be read: {exc}", hint="nothing was written") from None


def zip_blobs(data: bytes) -> dict[str, tuple[str, int]]:
    """``remote path -> (SHA-1, size)`` of every file in the upload ``data`` (a zip)."""
    import hashlib

    out: dict[str, tuple[str, int]] = {}
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return out
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if not info.is_dir():
                content = archive.read(info)
                out[info.filename] = (hashlib.sha1(content).hexdigest(), len(content))
    return out
