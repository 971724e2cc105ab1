"""Tests of infra/terraform that need the Terraform command-line tool.

`terraform fmt` and `terraform validate` run offline: `terraform init` takes the AWS
provider from a local plugin folder instead of the registry. The apply test creates
every resource on a moto server on 127.0.0.1, then checks that a second plan changes
nothing beyond attributes that moto does not return. Each test skips with a reason when
the tool or the plugin folder is absent.
"""

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from risk_assets.settings import PROJECT_ROOT

TERRAFORM_SOURCES = PROJECT_ROOT / "infra" / "terraform"
# A provider mirror in the layout `terraform init -plugin-dir` reads:
# <dir>/registry.terraform.io/hashicorp/aws/<version>/<os>_<arch>/.
PLUGIN_DIR = Path(os.environ.get("RISK_TF_PLUGIN_DIR", "/opt/tf-plugins"))
# Every AWS service that the Terraform files call. The apply test points each one at moto.
AWS_SERVICES = (
    "sts",
    "iam",
    "s3",
    "ecr",
    "ecs",
    "ec2",
    "rds",
    "elbv2",
    "servicediscovery",
    "logs",
    "secretsmanager",
)
CLUSTER = "risk-assets"
# Attributes that moto 5.2.5 does not return as Terraform sent them, so a second plan
# shows them as changed: security group rules come back without their description and
# with the referenced group as "ACCOUNT/sg-...", and ECS services come back without
# availability_zone_rebalancing.
MOTO_DRIFT = {
    "aws_vpc_security_group_ingress_rule": {"description", "referenced_security_group_id"},
    "aws_vpc_security_group_egress_rule": {"description", "referenced_security_group_id"},
    "aws_ecs_service": {"availability_zone_rebalancing"},
}


def terraform_binary() -> str:
    """Path of the terraform command, skipping the test when it is not installed."""
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("terraform is not on PATH; test_infra.py still checks the files' structure")
    return binary


def terraform_env(**extra: str) -> dict[str, str]:
    """Environment for terraform: no AWS settings from the caller, no version check."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1", TF_INPUT="0")
    env.update(extra)
    return env


def run_terraform(
    workdir: Path, *args: str, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess:
    """Run one terraform command in ``workdir`` and return its result."""
    return subprocess.run(
        [terraform_binary(), *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def terraform_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of infra/terraform, initialized with the AWS provider from PLUGIN_DIR."""
    terraform_binary()
    if not (PLUGIN_DIR / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        pytest.skip(
            f"no AWS provider under {PLUGIN_DIR}; set RISK_TF_PLUGIN_DIR to a provider "
            "mirror, because `terraform init` may not download one here"
        )
    workdir = tmp_path_factory.mktemp("terraform")
    for source in TERRAFORM_SOURCES.glob("*.tf"):
        shutil.copy(source, workdir)
    result = run_terraform(
        workdir,
        "init",
        "-backend=false",
        "-no-color",
        f"-plugin-dir={PLUGIN_DIR}",
        env=terraform_env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return workdir


def test_terraform_fmt_accepts_files():
    result = subprocess.run(
        [terraform_binary(), "fmt", "-check", "-diff", "-recursive", str(TERRAFORM_SOURCES)],
        env=terraform_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_terraform_validate_passes(terraform_workdir):
    result = run_terraform(
        terraform_workdir, "validate", "-json", "-no-color", env=terraform_env(), timeout=300
    )
    report = json.loads(result.stdout)

    assert report["valid"] is True, report["diagnostics"]
    assert report["error_count"] == 0
    assert report["warning_count"] == 0, report["diagnostics"]


@pytest.fixture
def moto_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto server on 127.0.0.1, with boto3 in this process pointed at it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        yield endpoint
    finally:
        server.stop()


def write_moto_provider_override(workdir: Path, endpoint: str) -> None:
    """Point the AWS provider at moto through a Terraform override file.

    Terraform merges ``*_override.tf`` files into the configuration, so the checked-in
    provider block stays as it is. Every service in AWS_SERVICES gets the moto endpoint,
    and the instance metadata check is skipped.
    """
    endpoints = "\n".join(f'    {service} = "{endpoint}"' for service in AWS_SERVICES)
    (workdir / "moto_override.tf").write_text(
        f"""provider "aws" {{
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  s3_use_path_style           = true

  endpoints {{
{endpoints}
  }}
}}
"""
    )


def default_network() -> tuple[str, list[str]]:
    """moto's default VPC and two of its subnets."""
    ec2 = boto3.client("ec2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    vpc_id = vpcs[0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    return vpc_id, [subnet["SubnetId"] for subnet in subnets[:2]]


@pytest.mark.slow
def test_terraform_applies_to_moto(terraform_workdir, moto_aws):
    write_moto_provider_override(terraform_workdir, moto_aws)
    vpc_id, subnet_ids = default_network()
    variables = {
        "region": "us-east-1",
        "vpc_id": vpc_id,
        "private_subnet_ids": subnet_ids,
        "allowed_cidr_blocks": ["10.0.0.0/8"],
        "image_tag": "test",
        "bucket_name": "risk-assets-terraform-test",
    }
    (terraform_workdir / "moto.auto.tfvars.json").write_text(json.dumps(variables))
    env = terraform_env(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_ENDPOINT_URL=moto_aws,
        AWS_EC2_METADATA_DISABLED="true",
    )

    applied = run_terraform(
        terraform_workdir, "apply", "-auto-approve", "-no-color", env=env, timeout=900
    )
    assert applied.returncode == 0, applied.stdout[-4000:] + applied.stderr[-4000:]

    s3 = boto3.client("s3")
    bucket = variables["bucket_name"]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    public_access = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(public_access.values()), public_access
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    default = encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == "AES256"

    ecs = boto3.client("ecs")
    service_arns = ecs.list_services(cluster=CLUSTER)["serviceArns"]
    services = {arn.rsplit("/", 1)[-1] for arn in service_arns}
    expected = {f"{CLUSTER}-{name}" for name in ("webserver", "daemon", "code-server", "mlflow")}
    assert services == expected
    code_server = ecs.describe_task_definition(taskDefinition=f"{CLUSTER}-code-server")
    container = code_server["taskDefinition"]["containerDefinitions"][0]
    assert container["command"][:3] == ["dagster", "code-server", "start"]
    assert container["image"].endswith(f"/{CLUSTER}:test")
    environment = {item["name"]: item["value"] for item in container["environment"]}
    assert environment["RISK_PROFILE"] == "aws"
    assert environment["RISK_S3_BUCKET"] == bucket
    assert "DAGSTER_PG_PASSWORD" not in environment
    secrets = {item["name"]: item["valueFrom"] for item in container["secrets"]}
    assert secrets["DAGSTER_PG_PASSWORD"].endswith(":password::")

    database = boto3.client("rds").describe_db_instances(DBInstanceIdentifier=CLUSTER)
    instance = database["DBInstances"][0]
    assert instance["Engine"] == "postgres"
    assert instance["StorageEncrypted"] is True
    assert instance["PubliclyAccessible"] is False

    outputs = run_terraform(terraform_workdir, "output", "-json", env=env, timeout=120)
    assert outputs.returncode == 0, outputs.stderr
    values = {name: output["value"] for name, output in json.loads(outputs.stdout).items()}
    assert values["bucket_name"] == bucket
    assert values["mlflow_tracking_uri"] == "http://mlflow.risk-assets.internal:5000"

    # A second plan must find nothing to change, or every apply would churn resources.
    # The only drift accepted is in attributes that moto does not return as sent.
    planned = run_terraform(
        terraform_workdir, "plan", "-out=replan.tfplan", "-no-color", env=env, timeout=600
    )
    assert planned.returncode == 0, planned.stdout[-4000:] + planned.stderr[-4000:]
    plan_json = run_terraform(
        terraform_workdir, "show", "-json", "replan.tfplan", env=env, timeout=120
    )
    assert plan_json.returncode == 0, plan_json.stderr
    unexpected = []
    for change in json.loads(plan_json.stdout).get("resource_changes", []):
        actions = change["change"]["actions"]
        if actions == ["no-op"]:
            continue
        before, after = change["change"]["before"] or {}, change["change"]["after"] or {}
        drifted = changed_attributes(before, after)
        accepted = MOTO_DRIFT.get(change["type"], set())
        if actions != ["update"] or not drifted <= accepted:
            detail = {name: (before.get(name), after.get(name)) for name in sorted(drifted)}
            unexpected.append(f"{change['address']} would {actions}: {detail}")

    assert not unexpected, "\n".join(unexpected)


def changed_attributes(before: dict, after: dict) -> set[str]:
    """Names of the attributes whose planned value differs from the current one."""
    names = set(before) | set(after)
    return {name for name in names if before.get(name) != after.get(name)}
