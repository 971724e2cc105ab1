"""Moving the ``champion`` alias: promotion and rollback, with the history as version tags.

Every move records who replaced whom on the model versions themselves:

- the new champion gets ``champion_since``, ``previous_champion`` and
  ``promotion_reason``;
- the replaced champion gets ``demoted_at`` and ``replaced_by``;
- a rollback tags the removed champion with ``rolled_back_at`` and ``rollback_reason``
  and the restored one with ``restored_at``.

Because each champion keeps the ``previous_champion`` tag it was promoted with,
repeated rollbacks walk back through the promotion history.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from mlflow.tracking import MlflowClient

from risk_assets.resources.tracking import CHAMPION, current_alias_version

logger = logging.getLogger(__name__)

PREVIOUS_CHAMPION_TAG = "previous_champion"


@dataclass(frozen=True)
class AliasMove:
    """One move of the ``champion`` alias.

    Attributes:
        model_name: Registered model name.
        from_version: Champion before the move; None when there was none.
        to_version: Champion after the move.
        reason: Why the alias moved.
    """

    model_name: str
    from_version: str | None
    to_version: str
    reason: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def promote_to_champion(
    client: MlflowClient, model_name: str, version: str, reason: str
) -> AliasMove:
    """Point ``champion`` at ``version`` and record the move on both versions.

    Raises:
        ValueError: ``version`` is already the champion.
    """
    previous = current_alias_version(client, model_name, CHAMPION)
    if previous == str(version):
        raise ValueError(f"{model_name} v{version} is already the champion; nothing to promote")
    now = _now()
    client.set_registered_model_alias(model_name, CHAMPION, str(version))
    client.set_model_version_tag(model_name, str(version), "champion_since", now)
    client.set_model_version_tag(model_name, str(version), PREVIOUS_CHAMPION_TAG, previous or "")
    client.set_model_version_tag(model_name, str(version), "promotion_reason", reason)
    if previous is not None:
        client.set_model_version_tag(model_name, previous, "demoted_at", now)
        client.set_model_version_tag(model_name, previous, "replaced_by", str(version))
    logger.info("%s: champion moved from v%s to v%s (%s)", model_name, previous, version, reason)
    return AliasMove(model_name, previous, str(version), reason)


def rollback_champion(
    client: MlflowClient, model_name: str, reason: str = "manual rollback"
) -> AliasMove:
    """Point ``champion`` back at the version it replaced.

    Raises:
        LookupError: The model has no champion, or its champion records no previous
            champion (it was the first version or was set outside this module).
    """
    current = current_alias_version(client, model_name, CHAMPION)
    if current is None:
        raise LookupError(f"registered model {model_name!r} has no champion to roll back")
    tags = client.get_model_version(model_name, current).tags
    previous = tags.get(PREVIOUS_CHAMPION_TAG, "")
    if not previous:
        raise LookupError(
            f"{model_name} v{current} records no previous champion (tag "
            f"{PREVIOUS_CHAMPION_TAG!r}), so there is nothing to roll back to; point the "
            "alias by hand with MlflowClient.set_registered_model_alias if needed"
        )
    now = _now()
    client.set_registered_model_alias(model_name, CHAMPION, previous)
    client.set_model_version_tag(model_name, current, "rolled_back_at", now)
    client.set_model_version_tag(model_name, current, "rollback_reason", reason)
    client.set_model_version_tag(model_name, previous, "restored_at", now)
    logger.warning(
        "%s: champion rolled back from v%s to v%s (%s)", model_name, current, previous, reason
    )
    return AliasMove(model_name, current, previous, reason)
