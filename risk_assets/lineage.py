"""Content hashes that tag models and runs with the data they were fitted on."""

from __future__ import annotations

import hashlib

import pandas as pd


def data_version(frame: pd.DataFrame) -> str:
    """Return a short content hash of a frame (16 hex digits of its SHA-256)."""
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()[:16]
