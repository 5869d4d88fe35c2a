"""The GitHub Action's side of labelsync: everything ``action.yml`` runs, in Python.

``action.yml`` installs labelsync and calls ``labelsync action-run``, which is
:func:`labelsync.github.run.main`. That entry point reads the action's inputs from
``INPUT_*`` environment variables, runs the ordinary ``labelsync`` CLI in a subprocess (so
the action behaves exactly like the command a user types), and then talks to GitHub:

* :mod:`~labelsync.github.env`: the runner's environment (``GITHUB_OUTPUT``, the event, ...);
* :mod:`~labelsync.github.mask`: ``::add-mask::`` and scrubbing of every string written;
* :mod:`~labelsync.github.outputs`: step outputs and the step summary;
* :mod:`~labelsync.github.annotations`: diagnostics as ``::error file=...`` annotations;
* :mod:`~labelsync.github.report`: the markdown body of the summary and comment;
* :mod:`~labelsync.github.comment`: one pull-request comment, found by a hidden marker.

Nothing here imports :mod:`labelsync.cli`; the network is reached through ``urllib`` only
for the GitHub REST API.
"""
