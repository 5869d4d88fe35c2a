"""A local emulator of the Deepen AI labelling API v2 (contract: ``shared/api/deepen.md``).

``create_app(data_dir, tokens=[...], faults=None)`` (no tokens: only :data:`LOCAL_TOKEN`) returns one ASGI app (a
:class:`~labelsync.emulator.runtime.Knobs` subclass) serving:

API (``/api/v2``, ``Authorization: Bearer <token>`` required, DRF-style ``{"detail": ...}`` errors)
    * ``GET|POST /clients/{clientId}/datasets`` - list keyed by dataset id / create (200 + DatasetResource,
      one resumable session per ``files[]`` entry); ``GET /clients/{clientId}/datasets_ids``
      - ``{"datasets": [{"dataset_id", "dataset_name"}]}``.
    * ``GET|DELETE /datasets/{id}``; ``POST /datasets/{id}/process_uploaded_data`` ``{"file_name"}``;
      ``POST /datasets/{id}/mark_labelling_done``; ``GET /datasets/{id}/uploaded_dataset_signed_media_link``.
    * ``GET /datasets/{id}/files`` - ``{"files": [FileResource]}``; ``GET /datasets/{id}/files/{fileId}``;
      ``GET|POST /datasets/{id}/files/{fileId}/labels`` - ``{"labels": [...]}`` (POST replaces the file's labels).
    * ``GET /datasets/{id}/labels`` - ``{"all_labels": [...]}``, or with ``labels_with_file_ids_order=true``
      ``{"labels": {fileId: [...]}}`` (every file present); flags ``final``, ``filter_existing_categories``,
      ``labelSetId``. ``POST /datasets/{id}/labels?labelSetId=...`` ``{"type": "json", "labels": [...]}`` imports.
      ``POST /clients/{clientId}/labels_of_dataset_ids`` ``{"dataset_ids": [...]}`` - ``{"labels": [...]}``.
    * ``GET|POST /clients/{clientId}/labelling_profiles`` (``{"profiles": [...]}`` / ``{"profile_id"}``),
      ``GET /labelling_profiles/{profileId}``.

Upload sessions (no auth; the URI is the credential): ``PUT|DELETE
/upload/storage/v1/b/<bucket>/o?uploadType=resumable&name=<clientId>/<datasetId>/<stored name>&upload_id=<id>``,
the GCS resumable protocol of contract §7 (see :mod:`.upload` for the exact rules). The URL's
scheme and host are those the client used to reach the emulator.

``processing_status`` sequence: ``files_to_be_uploaded`` (created) -> ``files_uploaded`` (after
``process_uploaded_data``; lasts ``processing_seconds``, default 0.5 s, observed on polling) ->
``files_getting_labelled`` (files listed, pipeline under way) or ``preprocessing_error`` (the
reason in ``processing_status_message`` and ``processing_error_message``). ``current_stage`` /
``current_stage_status``: FileUpload (waiting/in_progress/done) -> Processing (in_progress) ->
Labelling (ready -> in_progress -> done). See :mod:`.processing` for what a valid zip is.

Admin API (``/_admin``, the same ``Authorization: Bearer <token>`` as the API, never
fault-injected) - the workforce and test hooks:
    * ``GET /_admin/datasets/{id}`` - ``{"dataset": DatasetResource, "files": [{"file_id", "stage_id",
      "stage_status", "status"}], "uploads": [{"upload_id", "name", "complete"}]}``.
    * ``POST /_admin/datasets/{id}/process_now`` - finish preprocessing at once; answers the DatasetResource.
    * ``POST /_admin/datasets/{id}/files/{fileId}/labels`` ``{"labels": [...], "label_set_id": "default"}``
      - a labeller sets the file's labels (replacing them; ``labeller_email`` ``workforce@emulator.labelsync``).
    * ``POST /_admin/datasets/{id}/workforce`` ``{"action": "start"|"submit"|"fail"|"reject"|"complete",
      "file_ids": [...] (optional, default: all files), "stage_id": "Labelling" (optional guard)}`` - moves
      files through the pipeline: start = in_progress in the current stage; submit = current stage done,
      ready in the next (done after the last); fail = failed in the current stage; reject = back to the
      previous stage, ready; complete = every stage done. Answers the DatasetResource.
    * ``POST /_admin/datasets/{id}/complete`` - every file done (as ``mark_labelling_done``).
    * ``POST /_admin/uploads/drop_next`` ``{"after_bytes": N}`` - the next upload PUT whose body is longer
      than N persists its first N body bytes (cut back to 256 KiB units), then the emulator drops the
      connection mid-response.
    * ``GET /_admin/uploads/{uploadId}`` - ``{"upload_id", "dataset_id", "name", "file_size", "persisted",
      "bytes_received", "complete"}``; ``bytes_received`` counts every body byte the session received,
      resent ones included, so tests can assert what a client sent.

[INFERRED] choices (the contract leaves these open):
    * Success is 200 everywhere (create included); "empty" answers (delete, process,
      mark_labelling_done, label import) are ``{}``.
    * Auth: missing or non-Bearer header, empty or unknown token -> 401 with DRF's messages and
      ``WWW-Authenticate: Bearer``; 403 is never produced (any token may use any client id).
      Unknown route or object -> 404 ``{"detail": "Not found."}``; wrong method -> 405
      ``{"detail": "Method \\"X\\" not allowed."}``; bad input -> 400 ``{"detail": ...}``.
      Injected faults (``FaultConfig``) answer DRF-style bodies too, also on upload URLs.
    * Ids: datasets and profiles 24 ``[A-Za-z0-9]`` characters; upload ids 64. A legacy
      ``client:project:dataset`` id resolves by its last part.
    * Stored upload names: ``<format>_data.zip`` for 3d (``json_data.zip``), ``images_data.zip``,
      ``video_data.mp4``; a second file gets ``_1`` and so on. ``process_uploaded_data`` processes
      the named upload (which must be complete, else 400); an empty ``file_name`` means the only
      upload. Calling it again is a no-op 200.
    * A profile without ``pipeline_spec`` gets Labelling (can_edit) then QA; a dataset with no
      profile gets an empty profile with that pipeline. ``labelling_profile_id`` of an unknown
      profile -> 400. Profiles keep any extra keys; no update/delete endpoint (none documented).
    * FileResource ``status``: ``<stage>_in_progress`` while in a stage (ready or being worked),
      ``<stage>_failed``, ``done`` after every stage. ``sensors`` only for 3d (``lidar``,
      ``sensor1``..). Files are ordered by name with digit runs compared as numbers.
    * Pipeline counters (``pipeline_stage_status`` = ``pipeline_status_by_label_set_id.default``):
      per stage, files before it ``waiting``, in it by status, past it ``done``;
      ``pipeline_status[stage]`` = done in that stage; ``__ALL_STAGES_DONE``; ``__TOTAL``;
      ``status.finished`` = ``__ALL_STAGES_DONE``. ``current_stage`` is never ``Audit``; after a
      preprocessing error it is Processing/waiting.
    * Labels are upserted by ``(file_id, label_id)``; a missing ``label_id`` becomes
      ``<category>:<n+1>``. The server sets ``dataset_id``, ``label_set_id``, ``stage_id`` (the
      file's current stage), ``create_time_millis``, ``update_time_millis``, ``version``;
      ``labeller_email``/``user_id`` default to ``api@emulator.labelsync``. Labels need a processed
      dataset (400 otherwise) and a file of it (400). ``final=true`` keeps labels of files that
      passed every stage; ``filter_existing_categories=true`` keeps labels whose category the
      profile lists for their type.
    * Upload sessions never expire; the object JSON has no ``crc32c``; an interrupted chunk is cut
      back to 256 KiB units; a chunk starting past the persisted offset gets 308 with the real Range.

Not emulated: tasks, user groups, user scopes updates, paint labels, profile images, webhooks.
"""

from .app import LOCAL_TOKEN, DeepenEmulator, create_app

__all__ = ["LOCAL_TOKEN", "DeepenEmulator", "create_app"]
