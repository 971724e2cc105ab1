"""Champion promotion and rollback on a real MLflow SQLite registry."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from risk_assets.registry.__main__ import main as registry_main
from risk_assets.registry.aliases import promote_to_champion, rollback_champion
from risk_assets.registry.versions import ModelVersionNotFoundError, champion_version
from risk_assets.resources.tracking import CHAMPION, current_alias_version


@pytest.fixture(scope="module")
def tracking(tmp_path_factory) -> tuple[MlflowClient, str]:
    # One SQLite store per module, because creating its schema takes seconds.
    uri = f"sqlite:///{tmp_path_factory.mktemp('registry') / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri), uri


@pytest.fixture
def registry(tracking, request, tmp_path) -> tuple[MlflowClient, str, str]:
    """A registered model with three versions and no alias, named after the test."""
    client, uri = tracking
    name = request.node.name
    client.create_registered_model(name)
    for index in range(3):
        source = tmp_path / f"model_{index}"
        source.mkdir()
        client.create_model_version(name, source=str(source))
    return client, uri, name


def test_promotion_records_history(registry):
    client, _, model = registry
    first = promote_to_champion(client, model, "1", "first")
    second = promote_to_champion(client, model, "2", "better AP")
    assert first.from_version is None
    assert second.from_version == "1"
    assert current_alias_version(client, model, CHAMPION) == "2"
    new_tags = client.get_model_version(model, "2").tags
    old_tags = client.get_model_version(model, "1").tags
    assert new_tags["previous_champion"] == "1"
    assert new_tags["promotion_reason"] == "better AP"
    assert old_tags["replaced_by"] == "2"
    assert "demoted_at" in old_tags


def test_promoting_champion_again_rejected(registry):
    client, _, model = registry
    promote_to_champion(client, model, "1", "first")
    with pytest.raises(ValueError, match="already the champion"):
        promote_to_champion(client, model, "1", "again")


def test_rollback_walks_back_history(registry):
    client, _, model = registry
    for version in ("1", "2", "3"):
        promote_to_champion(client, model, version, f"step {version}")
    assert rollback_champion(client, model, "bad alerts").to_version == "2"
    assert rollback_champion(client, model).to_version == "1"
    assert current_alias_version(client, model, CHAMPION) == "1"
    assert client.get_model_version(model, "3").tags["rollback_reason"] == "bad alerts"
    assert "restored_at" in client.get_model_version(model, "2").tags


def test_rollback_without_history_fails(registry):
    client, _, model = registry
    with pytest.raises(LookupError, match="no champion"):
        rollback_champion(client, model)
    promote_to_champion(client, model, "1", "first")
    with pytest.raises(LookupError, match="records no previous champion"):
        rollback_champion(client, model)


def test_rollback_command(registry, capsys):
    client, uri, model = registry
    promote_to_champion(client, model, "1", "first")
    promote_to_champion(client, model, "2", "second")
    assert registry_main(["rollback", model, "--tracking-uri", uri]) == 0
    assert "from v2 to v1" in capsys.readouterr().out
    assert current_alias_version(client, model, CHAMPION) == "1"
    assert registry_main(["rollback", model, "--tracking-uri", uri]) == 1
    assert "nothing to roll back to" in capsys.readouterr().err


def test_missing_champion_names_fix(registry):
    client, _, model = registry
    with pytest.raises(ModelVersionNotFoundError, match="train a first version"):
        champion_version(client, model)
    promote_to_champion(client, model, "2", "first")
    assert champion_version(client, model) == "2"
