"""labelsync: declarative, GitOps-style sync of labelling datasets.

Manifests (YAML) declare datasets, segments, sensors, label catalogs and the local
directories that hold data and label files; labelsync validates them, plans the changes
against a labelling platform (TensorBay, Deepen) and applies them through its HTTP API.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
