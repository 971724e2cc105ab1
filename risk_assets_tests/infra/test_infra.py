"""Tests of the deployment files in infra/.

Dagster's own config schemas validate the production instance file. Its ECS run launcher
starts a run task for a real run of this code location on a moto server on 127.0.0.1.
The Terraform sources are checked structurally and for literal secrets without the
terraform command (test_terraform_cli.py runs it), and the database bootstrap script
runs against the local PostgreSQL server.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import yaml
from dagster import DagsterInstance, DagsterRunStatus
from dagster._config import process_config
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import dagster_instance_config
from dagster._core.launcher import RunLauncher
from dagster._core.launcher.base import WorkerStatus
from dagster._core.remote_origin import GrpcServerCodeLocationOrigin, InProcessCodeLocationOrigin
from dagster._core.storage.config import pg_config
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load import location_origins_from_yaml_paths
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._serdes.config_class import ConfigurableClassData
from dagster_aws.ecs import EcsRunLauncher
from dagster_aws.ecs.utils import get_task_definition_family
from dagster_aws.s3.compute_log_manager import S3ComputeLogManager
from moto.server import ThreadedMotoServer

from risk_assets.settings import PROJECT_ROOT

INFRA = PROJECT_ROOT / "infra"
ACCOUNT = "123456789012"
REGION = "us-east-1"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/risk-assets:test"
PG_SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-test:password::"
JOB_NAME = "risk_lifecycle_job"
DEFINITIONS_MODULE = "risk_assets.definitions"

# Stand-ins for what ECS sets on the daemon in production, which Terraform defines as
# `dagster_environment` in infra/terraform/ecs.tf. None of them is a real credential.
DEPLOYMENT_ENV = {
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "DAGSTER_PG_HOST": "risk-assets.example.internal",
    "DAGSTER_PG_PORT": "5432",
    "DAGSTER_PG_DB": "dagster",
    "DAGSTER_PG_USER": "risk_admin",
    "DAGSTER_PG_PASSWORD": "not-a-real-password",
    "DAGSTER_PG_PASSWORD_SECRET_ARN": PG_SECRET_ARN,
    "DAGSTER_RUN_CONTAINER_NAME": "run",
    "DAGSTER_RUN_TASK_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/risk-assets-run",
    "DAGSTER_RUN_EXECUTION_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/risk-assets-execution",
    "DAGSTER_RUN_LOG_GROUP": "/ecs/risk-assets/runs",
    "DAGSTER_COMPUTE_LOG_PREFIX": "dagster/compute-logs",
    "RISK_PROFILE": "aws",
    "RISK_S3_BUCKET": "risk-assets-test",
    "RISK_S3_PREFIX": "risk_assets",
    "MLFLOW_TRACKING_URI": "http://mlflow.risk-assets.internal:5000",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DAGSTER_DISABLE_TELEMETRY": "true",
}


@pytest.fixture
def deployment_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Set the deployment's environment variables, with no real credentials."""
    for name, value in DEPLOYMENT_ENV.items():
        monkeypatch.setenv(name, value)
    # Importing the code location builds its local storage; keep it out of the repository.
    monkeypatch.setenv("RISK_DATA_DIR", str(tmp_path / "risk_data"))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    return dict(DEPLOYMENT_ENV)


def load_instance_yaml() -> dict:
    """The raw contents of infra/dagster.yaml."""
    return yaml.safe_load((INFRA / "dagster.yaml").read_text())


def rehydrate(block: dict, as_type: type):
    """Build the class a `module`/`class`/`config` block names, as the instance would."""
    data = ConfigurableClassData(block["module"], block["class"], yaml.safe_dump(block["config"]))
    return data.rehydrate(as_type=as_type)


# --- infra/dagster.yaml -------------------------------------------------------------------


def test_instance_config_passes_dagster_schema(deployment_env):
    config, custom_instance_class = dagster_instance_config(str(INFRA), "dagster.yaml")

    assert custom_instance_class is None
    assert config["run_launcher"]["module"] == "dagster_aws.ecs"
    assert config["run_launcher"]["class"] == "EcsRunLauncher"
    assert config["compute_logs"]["class"] == "S3ComputeLogManager"
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["telemetry"]["enabled"] is False


def test_instance_postgres_storage_reads_environment(deployment_env):
    storage = load_instance_yaml()["storage"]
    assert list(storage) == ["postgres"]

    result = process_config(pg_config(), storage["postgres"])

    assert result.success, result.errors
    database = result.value["postgres_db"]
    assert database["hostname"] == deployment_env["DAGSTER_PG_HOST"]
    assert database["port"] == 5432
    assert database["db_name"] == "dagster"
    assert database["username"] == deployment_env["DAGSTER_PG_USER"]
    assert database["password"] == deployment_env["DAGSTER_PG_PASSWORD"]


def test_instance_run_launcher_builds_from_environment(deployment_env):
    launcher = rehydrate(load_instance_yaml()["run_launcher"], RunLauncher)

    assert isinstance(launcher, EcsRunLauncher)
    assert launcher.container_name == "run"
    assert launcher.task_role_arn == deployment_env["DAGSTER_RUN_TASK_ROLE_ARN"]
    assert launcher.execution_role_arn == deployment_env["DAGSTER_RUN_EXECUTION_ROLE_ARN"]
    assert launcher.task_definition_dict["log_group"] == deployment_env["DAGSTER_RUN_LOG_GROUP"]
    assert launcher.task_definition_dict["requires_compatibilities"] == ["FARGATE"]
    assert launcher.secrets == [{"name": "DAGSTER_PG_PASSWORD", "valueFrom": PG_SECRET_ARN}]
    assert launcher.secrets_tags == []
    assert launcher.use_current_ecs_task_config is True
    # The password reaches run tasks only as an ECS secret, never as a plain variable.
    assert "DAGSTER_PG_PASSWORD" not in launcher.env_vars


def test_instance_compute_logs_build_from_environment(deployment_env):
    manager = rehydrate(load_instance_yaml()["compute_logs"], S3ComputeLogManager)

    assert isinstance(manager, S3ComputeLogManager)
    assert manager._s3_bucket == deployment_env["RISK_S3_BUCKET"]
    assert manager._s3_prefix == "dagster/compute-logs"


def test_instance_missing_variable_is_named(deployment_env, monkeypatch):
    monkeypatch.delenv("DAGSTER_RUN_TASK_ROLE_ARN")

    with pytest.raises(DagsterInvalidConfigError, match="DAGSTER_RUN_TASK_ROLE_ARN"):
        rehydrate(load_instance_yaml()["run_launcher"], RunLauncher)


def test_instance_file_has_no_literal_secrets():
    text = (INFRA / "dagster.yaml").read_text()
    password = load_instance_yaml()["storage"]["postgres"]["postgres_db"]["password"]

    assert password == {"env": "DAGSTER_PG_PASSWORD"}
    assert "AKIA" not in text
    assert "postgres_url" not in text


# --- EcsRunLauncher against moto ----------------------------------------------------------


@pytest.fixture
def moto_endpoint(deployment_env, monkeypatch) -> Iterator[str]:
    """A moto server on 127.0.0.1 that every boto3 client of this test talks to."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        yield endpoint
    finally:
        server.stop()


def ecs_network(ec2) -> tuple[str, str]:
    """A subnet of moto's default VPC and a new security group in that VPC."""
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    vpc_id = vpcs[0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    group = ec2.create_security_group(
        GroupName="risk-assets-runs", Description="Dagster run tasks", VpcId=vpc_id
    )
    return subnets[0]["SubnetId"], group["GroupId"]


def launcher_block_for_test(cluster: str, subnet_id: str, group_id: str) -> dict:
    """The run launcher of infra/dagster.yaml, with the network given explicitly.

    In production the launcher copies cluster, subnets and security groups from the
    daemon's own ECS task through the task metadata endpoint, which exists only inside
    ECS, so the test names them in ``run_task_kwargs`` instead.
    """
    block = load_instance_yaml()["run_launcher"]
    block["config"]["use_current_ecs_task_config"] = False
    block["config"]["run_task_kwargs"] = {
        "cluster": cluster,
        "launchType": "FARGATE",
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": [subnet_id],
                "securityGroups": [group_id],
                "assignPublicIp": "DISABLED",
            }
        },
    }
    return block


def register_expected_run_task_definition(ecs, family: str, env: dict[str, str]) -> None:
    """Register the task definition the launcher should want for a run of the main job.

    moto 5.2.5 returns HTTP 500 from RunTask when a container definition has no
    ``memory`` of its own, and the launcher sets memory on the task only. So the test
    registers the definition itself, with container memory added. The launcher reuses an
    existing revision only when image, container, secrets, environment, CPU, memory and
    roles all match, so a launcher that computed anything else would register revision 2
    without container memory, and the launch would fail.
    """
    names = load_instance_yaml()["run_launcher"]["config"]["env_vars"]
    environment = [{"name": name, "value": env[name]} for name in names]
    environment.append({"name": "DAGSTER_RUN_JOB_NAME", "value": JOB_NAME})
    ecs.register_task_definition(
        family=family,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="1024",
        memory="4096",
        taskRoleArn=env["DAGSTER_RUN_TASK_ROLE_ARN"],
        executionRoleArn=env["DAGSTER_RUN_EXECUTION_ROLE_ARN"],
        containerDefinitions=[
            {
                "name": "run",
                "image": IMAGE,
                "memory": 4096,
                "environment": environment,
                "secrets": [{"name": "DAGSTER_PG_PASSWORD", "valueFrom": PG_SECRET_ARN}],
            }
        ],
    )


@pytest.fixture
def isolated_definitions_module() -> Iterator[None]:
    """Forget risk_assets.definitions after the test if the test imported it first.

    The module builds its resources from the environment when it is imported, so a copy
    imported under this test's aws profile must not be reused by later tests.
    """
    already_imported = DEFINITIONS_MODULE in sys.modules
    yield
    if not already_imported:
        sys.modules.pop(DEFINITIONS_MODULE, None)


def test_ecs_launcher_starts_run_task(
    deployment_env, moto_endpoint, isolated_definitions_module, tmp_path
):
    ec2 = boto3.client("ec2")
    ecs = boto3.client("ecs")
    subnet_id, group_id = ecs_network(ec2)
    cluster_arn = ecs.create_cluster(clusterName="risk-assets")["cluster"]["clusterArn"]
    boto3.client("s3").create_bucket(Bucket=deployment_env["RISK_S3_BUCKET"])

    production = load_instance_yaml()
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    instance = DagsterInstance.local_temp(
        str(dagster_home),
        overrides={
            "run_launcher": launcher_block_for_test("risk-assets", subnet_id, group_id),
            "compute_logs": production["compute_logs"],
            "telemetry": {"enabled": False},
        },
    )
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name=DEFINITIONS_MODULE),
        container_image=IMAGE,
        location_name="risk_assets",
    )
    with WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as process:
        workspace = process.create_request_context()
        location = workspace.get_code_location("risk_assets")
        assert location.container_image == IMAGE
        repository = location.get_repository("__repository__")
        remote_job = repository.get_full_job(JOB_NAME)
        job_def = sys.modules[DEFINITIONS_MODULE].defs.resolve_job_def(JOB_NAME)
        run = instance.create_run_for_job(
            job_def,
            remote_job_origin=remote_job.get_remote_origin(),
            job_code_origin=remote_job.get_python_origin(),
        )
        prefix = production["run_launcher"]["config"]["task_definition_prefix"]
        family = get_task_definition_family(prefix, remote_job.get_remote_origin())
        register_expected_run_task_definition(ecs, family, deployment_env)

        instance.launch_run(run.run_id, workspace)

    task_arns = ecs.list_tasks(cluster="risk-assets")["taskArns"]
    assert len(task_arns) == 1
    task = ecs.describe_tasks(cluster="risk-assets", tasks=task_arns, include=["TAGS"])["tasks"][0]
    assert task["clusterArn"] == cluster_arn
    assert task["launchType"] == "FARGATE"
    assert task["taskDefinitionArn"].endswith(f"task-definition/{family}:1")
    assert task["desiredStatus"] == "RUNNING"
    assert {"key": "dagster/run_id", "value": run.run_id} in task["tags"]
    assert {"key": "dagster/job_name", "value": JOB_NAME} in task["tags"]
    assert {"key": "project", "value": "risk_assets"} in task["tags"]

    overrides = task["overrides"]["containerOverrides"]
    assert len(overrides) == 1
    assert overrides[0]["name"] == "run"
    command = overrides[0]["command"]
    assert command[:3] == ["dagster", "api", "execute_run"]
    assert run.run_id in command[3]
    assert "risk_assets.definitions" in command[3]
    # The serialized instance in the command keeps its `env:` references, so run tasks
    # resolve them from their own environment and no password passes through the ECS API.
    assert "DAGSTER_RUN_TASK_ROLE_ARN" in command[3]
    assert deployment_env["DAGSTER_PG_PASSWORD"] not in command[3]

    revisions = ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"]
    assert len(revisions) == 1
    stored_run = instance.get_run_by_id(run.run_id)
    assert stored_run.status == DagsterRunStatus.STARTING
    assert stored_run.tags["ecs/task_arn"] == task["taskArn"]
    assert stored_run.tags["ecs/cluster"] == cluster_arn
    # moto moves a task one lifecycle state further on every DescribeTasks call, so after
    # the describe above and this one the task is STOPPING, which Dagster counts as running.
    health = instance.run_launcher.check_run_worker_health(stored_run)
    assert health.status == WorkerStatus.RUNNING


# --- infra/Dockerfile ---------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (keyword, arguments), continuation lines joined."""
    text = (INFRA / "Dockerfile").read_text()
    logical = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in logical.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        keyword, _, arguments = stripped.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def test_dockerfile_copies_existing_paths():
    copies = [arguments for keyword, arguments in dockerfile_instructions() if keyword == "COPY"]
    assert copies, "the Dockerfile copies nothing"
    ignore = (INFRA / "Dockerfile.dockerignore").read_text().splitlines()
    included_paths = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}

    for arguments in copies:
        *sources, _destination = arguments.split()
        for source in sources:
            assert (PROJECT_ROOT / source).exists(), f"COPY source {source} does not exist"
            assert source.rstrip("/") in included_paths, (
                f"Dockerfile.dockerignore excludes {source}"
            )


def test_dockerfile_installs_cpu_torch_first():
    runs = [arguments for keyword, arguments in dockerfile_instructions() if keyword == "RUN"]
    torch_step = next(i for i, run in enumerate(runs) if "torch==2.13.0" in run)
    project_step = next(i for i, run in enumerate(runs) if "pip install ." in run)

    assert torch_step < project_step
    assert "--index-url https://download.pytorch.org/whl/cpu" in runs[torch_step]
    assert "dagster-postgres==0.29.27" in runs[project_step]


def test_dockerfile_runs_code_server_as_non_root():
    instructions = dockerfile_instructions()
    base = [arguments for keyword, arguments in instructions if keyword == "FROM"]
    users = [arguments for keyword, arguments in instructions if keyword == "USER"]
    command = json.loads(next(arguments for keyword, arguments in instructions if keyword == "CMD"))

    assert base == ["python:3.11-slim"]
    assert users, "the image runs as root"
    assert users[-1].split(":")[0] not in ("0", "root")
    assert command[:3] == ["dagster", "code-server", "start"]
    assert command[command.index("-m") + 1] == "risk_assets.definitions"
    assert command[command.index("-p") + 1] == "4000"


# --- infra/workspace.yaml -----------------------------------------------------------------


def test_workspace_points_at_code_server(monkeypatch):
    monkeypatch.setenv("DAGSTER_CODE_SERVER_HOST", "code-server.risk-assets.internal")

    origins = location_origins_from_yaml_paths([str(INFRA / "workspace.yaml")])

    assert len(origins) == 1
    origin = origins[0]
    assert isinstance(origin, GrpcServerCodeLocationOrigin)
    assert origin.location_name == "risk_assets"
    assert origin.host == "code-server.risk-assets.internal"
    assert origin.port == 4000


# --- infra/terraform ----------------------------------------------------------------------

TERRAFORM = INFRA / "terraform"
HEREDOC = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_]*)\n")
BLOCK_HEADER = re.compile(r'^(\w+)((?:\s+"[^"]*")*)\s*\{')
LABELS_PER_BLOCK = {
    "resource": 2,
    "data": 2,
    "variable": 1,
    "output": 1,
    "module": 1,
    "provider": 1,
    "locals": 0,
    "terraform": 0,
}
CLOSER = {"{": "}", "[": "]", "(": ")"}


@dataclass
class Block:
    """A top-level HCL block: its type, labels, body text and first line."""

    kind: str
    labels: list[str]
    body: str
    line: int


@dataclass
class ScannedHcl:
    """An HCL file after the bracket check, in two views with the same lines.

    ``code`` is the text without comments. ``skeleton`` also blanks everything inside
    strings, interpolations and heredocs, so its brackets are the structural ones.
    """

    code: str
    skeleton: str


def scan_hcl(text: str, path: str) -> ScannedHcl:
    """Check that brackets, strings and heredocs of an HCL file are balanced.

    Strings, template interpolations (``${...}``, with strings nested inside them) and
    heredocs are followed, so brackets inside them are not counted.

    Raises:
        AssertionError: A bracket or string is unbalanced; the message names the line.
    """
    stack: list[tuple[str, int]] = []  # open brackets, strings and interpolations
    code: list[str] = []
    skeleton: list[str] = []
    i, line = 0, 1

    def emit(chunk: str) -> None:
        code.append(chunk)
        inside_string = any(mode in ('"', "${") for mode, _ in stack)
        skeleton.append(re.sub(r"[^\n]", " ", chunk) if inside_string else chunk)

    while i < len(text):
        char = text[i]
        mode = stack[-1][0] if stack else "code"
        if mode == '"':
            if char == "\\":
                emit(text[i : i + 2])
                i += 2
                continue
            if text.startswith("${", i) or text.startswith("%{", i):
                emit(text[i : i + 2])
                stack.append(("${", line))
                i += 2
                continue
            if char == '"':
                stack.pop()
                emit(char)
            else:
                emit(char)
                line += char == "\n"
            i += 1
            continue
        if char == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            i = len(text) if end == -1 else end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i)
            assert end != -1, f"{path}:{line}: unclosed /* comment"
            newlines = text.count("\n", i, end)
            emit("\n" * newlines)
            line += newlines
            i = end + 2
            continue
        heredoc = HEREDOC.match(text, i)
        if heredoc:
            closing = re.compile(rf"^\s*{heredoc.group(1)}\s*$", re.MULTILINE)
            found = closing.search(text, heredoc.end())
            assert found, f"{path}:{line}: heredoc {heredoc.group(1)} is never closed"
            newlines = text.count("\n", i, found.end())
            emit('""' + "\n" * newlines)
            line += newlines
            i = found.end()
            continue
        if char in CLOSER.values():
            assert stack, f"{path}:{line}: {char!r} closes nothing"
            opener, opened_at = stack[-1]
            if opener == "${":
                assert char == "}", f"{path}:{line}: {char!r} inside an interpolation"
            else:
                assert CLOSER[opener] == char, (
                    f"{path}:{line}: {char!r} closes {opener!r} opened on line {opened_at}"
                )
            emit(char)
            stack.pop()
        elif char in CLOSER:
            emit(char)
            stack.append((char, line))
        elif char == '"':
            emit(char)
            stack.append(('"', line))
        else:
            emit(char)
            line += char == "\n"
        i += 1
    assert not stack, f"{path}: {stack[-1][0]!r} opened on line {stack[-1][1]} is never closed"
    return ScannedHcl(code="".join(code), skeleton="".join(skeleton))


def top_level_blocks(scanned: ScannedHcl, path: str) -> list[Block]:
    """Split a scanned HCL file into its top-level blocks, checking each header's labels."""
    blocks = []
    depth = 0
    current: Block | None = None
    body: list[str] = []
    lines = zip(scanned.code.splitlines(), scanned.skeleton.splitlines(), strict=True)
    for number, (text, structure) in enumerate(lines, start=1):
        stripped = text.strip()
        if depth == 0 and stripped:
            header = BLOCK_HEADER.match(stripped)
            assert header, f"{path}:{number}: expected a block header, found {stripped!r}"
            kind = header.group(1)
            labels = re.findall(r'"([^"]*)"', header.group(2))
            assert kind in LABELS_PER_BLOCK, f"{path}:{number}: unknown block type {kind!r}"
            expected = LABELS_PER_BLOCK[kind]
            assert len(labels) == expected, (
                f"{path}:{number}: {kind} needs {expected} labels, found {labels}"
            )
            assert all(re.fullmatch(r"[A-Za-z_][\w-]*", label) for label in labels), (
                f"{path}:{number}: invalid label in {labels}"
            )
            current = Block(kind, labels, "", number)
            body = []
        depth += sum(structure.count(char) for char in CLOSER)
        depth -= sum(structure.count(char) for char in CLOSER.values())
        body.append(text)
        if depth == 0 and current is not None:
            current.body = "\n".join(body)
            blocks.append(current)
            current = None
    return blocks


@pytest.fixture(scope="module")
def terraform_scans() -> dict[str, ScannedHcl]:
    """Every Terraform file, scanned after the bracket check."""
    files = sorted(TERRAFORM.glob("*.tf"))
    assert files, f"no .tf files in {TERRAFORM}"
    return {path.name: scan_hcl(path.read_text(), path.name) for path in files}


@pytest.fixture(scope="module")
def terraform_code(terraform_scans) -> dict[str, str]:
    """Every Terraform file's text without comments."""
    return {name: scanned.code for name, scanned in terraform_scans.items()}


@pytest.fixture(scope="module")
def terraform_blocks(terraform_scans) -> list[Block]:
    """Every top-level block of every Terraform file."""
    blocks = []
    for name, scanned in terraform_scans.items():
        blocks.extend(top_level_blocks(scanned, name))
    return blocks


def blocks_of(blocks: list[Block], kind: str) -> dict[str, Block]:
    """Blocks of one kind, keyed by their labels joined with a dot."""
    return {".".join(block.labels): block for block in blocks if block.kind == kind}


def test_terraform_blocks_parse(terraform_blocks):
    resources = blocks_of(terraform_blocks, "resource")

    assert len(resources) > 20
    assert len(blocks_of(terraform_blocks, "variable")) >= 5
    assert len(blocks_of(terraform_blocks, "output")) >= 5
    assert len(blocks_of(terraform_blocks, "terraform")) == 1


def test_terraform_declares_platform_resources(terraform_blocks):
    resources = blocks_of(terraform_blocks, "resource")
    types = {key.split(".")[0] for key in resources}
    required = {
        "aws_s3_bucket",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_public_access_block",
        "aws_ecr_repository",
        "aws_ecs_cluster",
        "aws_ecs_task_definition",
        "aws_ecs_service",
        "aws_db_instance",
        "aws_iam_role",
        "aws_iam_role_policy",
        "aws_security_group",
        "aws_cloudwatch_log_group",
    }

    assert required <= types, f"missing resource types: {sorted(required - types)}"


def test_terraform_services_cover_dagster_and_mlflow(terraform_code):
    ecs = terraform_code["ecs.tf"]
    services = re.search(r"\n  services = \{(.*?)\n  \}\n", ecs, re.DOTALL)
    assert services, "ecs.tf has no `services` map in its locals"
    names = re.findall(r"^    ([\w-]+) = \{", services.group(1), re.MULTILINE)

    assert names == ["webserver", "daemon", "code-server"]
    assert 'resource "aws_ecs_service" "mlflow"' in terraform_code["mlflow.tf"]
    assert '"code-server", "start", "-h", "0.0.0.0", "-p", "4000"' in ecs
    assert '"-m", "risk_assets.definitions"' in ecs


def test_terraform_references_are_declared(terraform_code, terraform_blocks):
    variables = set(blocks_of(terraform_blocks, "variable"))
    resources = set(blocks_of(terraform_blocks, "resource"))
    data_sources = set(blocks_of(terraform_blocks, "data"))
    local_names = set()
    for block in terraform_blocks:
        if block.kind == "locals":
            local_names.update(re.findall(r"^  (\w+)\s*=", block.body, re.MULTILINE))

    for name, code in terraform_code.items():
        for variable in re.findall(r"\bvar\.(\w+)", code):
            assert variable in variables, f"{name}: var.{variable} is not declared"
        for local_name in re.findall(r"\blocal\.(\w+)", code):
            assert local_name in local_names, f"{name}: local.{local_name} is not declared"
        for kind, label in re.findall(r"\bdata\.(\w+)\.(\w+)", code):
            assert f"{kind}.{label}" in data_sources, f"{name}: data.{kind}.{label} missing"
        for kind, label in re.findall(r"(?<![\w.])(aws_\w+)\.(\w+)", code):
            assert f"{kind}.{label}" in resources, f"{name}: {kind}.{label} is not declared"


def test_terraform_has_no_literal_secrets(terraform_code):
    secret_assignment = re.compile(
        r'(?i)\b([\w-]*(?:password|secret|token|access_key|private_key)[\w-]*)\s*=\s*"([^"]*)"'
    )
    for name, code in terraform_code.items():
        for key, value in secret_assignment.findall(code):
            assert value.startswith("${"), f"{name}: {key} is set to a literal string"
        assert not re.search(r"AKIA[0-9A-Z]{16}", code), f"{name}: contains an AWS access key id"
        assert "PRIVATE KEY" not in code, f"{name}: contains a private key"


def test_terraform_database_password_managed_by_rds(terraform_blocks):
    database = blocks_of(terraform_blocks, "resource")["aws_db_instance.main"].body

    assert re.search(r"manage_master_user_password\s*=\s*true", database)
    assert re.search(r"storage_encrypted\s*=\s*true", database)
    assert re.search(r"publicly_accessible\s*=\s*false", database)
    assert not re.search(r"^\s*password\s*=", database, re.MULTILINE)


def test_terraform_bucket_is_private(terraform_blocks):
    resources = blocks_of(terraform_blocks, "resource")
    public_access = resources["aws_s3_bucket_public_access_block.data"].body
    settings = (
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    )

    for setting in settings:
        assert re.search(rf"{setting}\s*=\s*true", public_access), f"{setting} is not true"
    versioning = resources["aws_s3_bucket_versioning.data"].body
    assert 'status = "Enabled"' in versioning
    assert (
        "sse_algorithm" in resources["aws_s3_bucket_server_side_encryption_configuration.data"].body
    )


def test_terraform_sets_every_instance_variable(terraform_code):
    """Every variable that infra/dagster.yaml reads is set on the Dagster tasks."""
    ecs = terraform_code["ecs.tf"]
    environment = re.search(r"dagster_environment = \{(.*?)\n  \}", ecs, re.DOTALL)
    assert environment, "ecs.tf has no `dagster_environment` map"
    provided = set(re.findall(r"^\s*([A-Z][A-Z0-9_]*)\s*=", environment.group(1), re.MULTILINE))
    provided.update(re.findall(r'name = "([A-Z][A-Z0-9_]*)", valueFrom', ecs))
    instance_text = (INFRA / "dagster.yaml").read_text()
    read = set(re.findall(r"env: ([A-Z][A-Z0-9_]*)", instance_text))
    read.update(load_instance_yaml()["run_launcher"]["config"]["env_vars"])
    read.update(re.findall(r"env: ([A-Z][A-Z0-9_]*)", (INFRA / "workspace.yaml").read_text()))

    assert read <= provided, f"not set by Terraform: {sorted(read - provided)}"
    prefix = load_instance_yaml()["run_launcher"]["config"]["task_definition_prefix"]
    assert f'run_task_family_prefix = "{prefix}"' in terraform_code["versions.tf"]


# --- infra/docker/ensure-database.sh ------------------------------------------------------

ENSURE_DATABASE = INFRA / "docker" / "ensure-database.sh"


@pytest.fixture
def postgres_env() -> dict[str, str]:
    """libpq variables for the PostgreSQL server on 127.0.0.1, skipping when it is absent."""
    if not (shutil.which("psql") and shutil.which("createdb")):
        pytest.skip("psql and createdb are not on PATH")
    env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": "5432"}
    env.pop("PGDATABASE", None)
    probe = subprocess.run(
        ["psql", "-d", "postgres", "-tAc", "SELECT 1"],
        capture_output=True,
        text=True,
        timeout=15,
        env=env,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(f"no PostgreSQL server on 127.0.0.1:5432: {probe.stderr.strip()}")
    return env


def database_exists(name: str, env: dict[str, str]) -> bool:
    """Return whether the server in ``env`` has a database called ``name``."""
    result = subprocess.run(
        ["psql", "-d", "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        capture_output=True,
        text=True,
        timeout=15,
        env=env,
        check=True,
    )
    return result.stdout.strip() == "1"


def run_ensure_database(name: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run the bootstrap script for ``name``."""
    return subprocess.run(
        ["sh", str(ENSURE_DATABASE), name],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )


def test_ensure_database_creates_once(postgres_env):
    name = f"risk_infra_{uuid.uuid4().hex[:12]}"
    try:
        first = run_ensure_database(name, postgres_env)
        second = run_ensure_database(name, postgres_env)

        assert first.returncode == 0, first.stderr
        assert "created database" in first.stdout
        assert second.returncode == 0, second.stderr
        assert "already exists" in second.stdout
        assert database_exists(name, postgres_env)
    finally:
        subprocess.run(["dropdb", "--if-exists", name], env=postgres_env, timeout=30, check=False)


@pytest.mark.parametrize("name", ["", "Mlflow", "1st", "x'; DROP DATABASE postgres; --"])
def test_ensure_database_rejects_invalid_name(name):
    result = run_ensure_database(name, {**os.environ, "PGHOST": "127.0.0.1"})

    assert result.returncode == 2
    assert "invalid database name" in result.stderr
