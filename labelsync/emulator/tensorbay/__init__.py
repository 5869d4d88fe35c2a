"""A faithful local TensorBay Open API v1 emulator (contract: ``api/tensorbay.md``).

Usage::

    from labelsync.emulator.runtime import EmbeddedServer
    from labelsync.emulator.tensorbay import create_app

    with EmbeddedServer(create_app(tmp_path, tokens=["Accesskey-test"])) as server:
        api = server.url + "/gatewayv2/tensorbay-open-api/v1/"

or ``labelsync emulator tensorbay --port 8080 --data-dir .labelsync/local/tensorbay``.

What it serves, on one host:

* the Open API under ``/gatewayv2/tensorbay-open-api/v1/`` (users, datasets, drafts,
  commits, branches, tags, diffs, notes, catalogs, label statistics, total size, segments
  incl. copy/move, policies, ``multi/callback``, ``multi/data/labels``, labels, data,
  ``data/details``, ``data/urls``, ``masks/urls``, sensors, frames, data copy/move);
  jobs, search results, storage configs and cloud files answer 501 ``NotSupported``, and
  ``multi/cloud-callback`` 403 ``Forbidden`` (there are no storage configs);
* the upload host ``/storage/upload`` (S3-style form POST with an HMAC-signed policy);
  optionally also served by N worker processes on a port of their own
  (:class:`~.storage_host.StorageHost`, ``--storage-workers N``), as a real object store
  serves uploads in parallel;
* signed, expiring download URLs ``/files/<datasetId>/<sha1>``.

Public URLs are derived from each request's base URL, so nothing needs configuring.
State lives in ``data_dir`` (SQLite plus a content-addressed blob directory) and survives
restarts. Authentication: ``X-Token`` must be one of ``tokens``; with no tokens given,
only :data:`LOCAL_TOKEN` (``Accesskey-labelsync-local-emulator``) is accepted.

Choices where the contract is silent:

* a second ``POST drafts`` on a branch with an OPEN draft: 409 ``NameConflict``,
  ``branch 'main' already has an open draft #N`` (atomic; labelsync uses it as its lock);
* a write to a CLOSED/COMMITTED draft: 403 ``Forbidden``; unknown draft: 404;
* ``multipleUploadLimit`` is 1000 and callbacks / label uploads with more objects get 400;
* a callback whose object (or mask) is not in storage, or whose ``fileSize`` differs from
  the stored size: 400 ``InvalidParamsValue``;
* ``GET drafts`` without ``status`` lists all statuses; ``GET drafts?branchName=<unknown>``
  is an empty list, ``POST drafts`` on it 404;
* a commit whose branch moved since the draft opened: 403; the default branch cannot be
  deleted (403); the root commit cannot be tagged (403);
* deleting a sensor also deletes its data in every frame;
* storage is shared by all datasets (content-addressed by SHA-1).

labelsync extensions (the SDK ignores them):

* ``data/details`` items carry ``checksum`` (SHA-1) and ``fileSize``; for fusion datasets
  inside each ``frame`` entry;
* mask entries inside labels on read carry ``checksum`` and ``fileSize`` besides
  ``remotePath``, ``url`` and ``info``;
* ``data`` items of fusion datasets carry ``frameId`` and ``sensorName``.
"""

from labelsync.emulator.tensorbay.app import API_PREFIX, LOCAL_TOKEN, create_app
from labelsync.emulator.tensorbay.storage_host import StorageHost

__all__ = ["API_PREFIX", "LOCAL_TOKEN", "StorageHost", "create_app"]
