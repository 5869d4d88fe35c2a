"""``labelsync import``: adopt a dataset that already exists on a remote.

:mod:`.layout` decides where each segment's data and labels go and builds the manifest
(pure); :mod:`.files` writes new files only, atomically, and removes them all again when
the import fails; :mod:`.importer` reads the remote through the provider contract
(``read_live``, ``pull_labels`` for masks, ``read_file`` for data) and writes the result.
The core never names a provider: the ``spec.<provider>`` block comes from the provider's
:meth:`~labelsync.providers.contract.ProviderSettings.block_from_live`.
"""
