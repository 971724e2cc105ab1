terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.70"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      project    = "risk_assets"
      managed_by = "terraform"
    }
  }
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  image      = "${aws_ecr_repository.app.repository_url}:${var.image_tag}"

  # Run task definitions registered by the Dagster daemon start with this prefix; it must
  # equal `task_definition_prefix` in infra/dagster.yaml.
  run_task_family_prefix = "riskrun"
  compute_log_prefix     = "dagster/compute-logs"
  mlflow_artifact_prefix = "mlflow"
}
