"""Deterministic A/B assignment: a visitor's bucket (0..9999) is a hash of the workspace, the
experiment and the visitor's id, so the same person gets the same arm on every head and every
request, with no state kept; another experiment shuffles people independently."""

from __future__ import annotations

import hashlib

from nerve.personalization.definition import Arm, Experiment

BUCKETS = 10_000  # 0.01 % per bucket: weights are percent with two decimals


def bucket(workspace_id: str, experiment: str, visitor: str) -> int:
    digest = hashlib.sha256(f"{workspace_id}\x00{experiment}\x00{visitor}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def assign(workspace_id: str, experiment: Experiment, visitor: str) -> Arm | None:
    """The visitor's arm, or None: the holdout (the buckets above the arms' weights)."""
    at = bucket(workspace_id, experiment.key, visitor)
    edge = 0
    for arm in experiment.arms:
        edge += round(arm.weight * 100)
        if at < edge:
            return arm
    return None
