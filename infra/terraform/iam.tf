# Task roles with least privilege. Four roles:
# - execution: used by ECS itself to pull the image, write logs and read the DB secret;
# - dagster: the webserver and the daemon, which launch, watch and stop run tasks;
# - run: the code server and every run task, which read and write asset data;
# - mlflow: the MLflow server, which stores model artifacts.

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# --- execution role -----------------------------------------------------------------------

resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

# The actions of the AWS managed AmazonECSTaskExecutionRolePolicy, limited to this
# repository and these log groups, plus reading the database secret.
data "aws_iam_policy_document" "execution" {
  # GetAuthorizationToken takes no resource-level conditions.
  statement {
    sid       = "LogInToEcr"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PullImage"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [aws_ecr_repository.app.arn]
  }

  statement {
    sid = "WriteContainerLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = concat(
      [for group in aws_cloudwatch_log_group.service : "${group.arn}:*"],
      ["${aws_cloudwatch_log_group.runs.arn}:*"],
    )
  }

  statement {
    sid       = "ReadDatabaseSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.db_secret_arn]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-image-write-logs-read-secret"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# --- run role: code server and run tasks --------------------------------------------------

resource "aws_iam_role" "run" {
  name               = "${var.name}-run"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "run" {
  # ListBucket covers the whole bucket, with no prefix condition. S3 returns 404 NoSuchKey
  # for a missing object only to callers allowed to list the bucket (403 to others), and
  # the storage resource turns NoSuchKey into "materialize it first".
  statement {
    sid       = "ListBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.data.arn]
  }

  statement {
    sid = "ReadWriteAssetDataAndComputeLogs"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
    ]
    resources = [
      "${aws_s3_bucket.data.arn}/${var.s3_prefix}/*",
      "${aws_s3_bucket.data.arn}/${local.compute_log_prefix}/*",
    ]
  }
}

resource "aws_iam_role_policy" "run" {
  name   = "asset-data"
  role   = aws_iam_role.run.id
  policy = data.aws_iam_policy_document.run.json
}

# --- dagster role: webserver and daemon ---------------------------------------------------

resource "aws_iam_role" "dagster" {
  name               = "${var.name}-dagster"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "dagster" {
  # RegisterTaskDefinition and DescribeTaskDefinition take no resource-level conditions.
  statement {
    sid = "ManageRunTaskDefinitions"
    actions = [
      "ecs:RegisterTaskDefinition",
      "ecs:DescribeTaskDefinition",
    ]
    resources = ["*"]
  }

  statement {
    sid     = "RunTasksOfRunFamilies"
    actions = ["ecs:RunTask"]
    resources = [
      "arn:aws:ecs:${var.region}:${local.account_id}:task-definition/${local.run_task_family_prefix}_*",
    ]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.main.arn]
    }
  }

  statement {
    sid = "WatchAndStopTasksInCluster"
    actions = [
      "ecs:DescribeTasks",
      "ecs:StopTask",
    ]
    resources = ["arn:aws:ecs:${var.region}:${local.account_id}:task/${aws_ecs_cluster.main.name}/*"]
  }

  statement {
    sid       = "TagRunTasksAtLaunch"
    actions   = ["ecs:TagResource"]
    resources = ["arn:aws:ecs:${var.region}:${local.account_id}:task/${aws_ecs_cluster.main.name}/*"]

    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RunTask"]
    }
  }

  # The launcher copies subnets and security groups from the daemon's own network
  # interface, which it reads through EC2.
  statement {
    sid       = "ReadOwnNetworkInterface"
    actions   = ["ec2:DescribeNetworkInterfaces"]
    resources = ["*"]
  }

  statement {
    sid     = "PassRunRoles"
    actions = ["iam:PassRole"]
    resources = [
      aws_iam_role.run.arn,
      aws_iam_role.execution.arn,
    ]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    sid       = "ReadRunTaskLogs"
    actions   = ["logs:GetLogEvents"]
    resources = ["${aws_cloudwatch_log_group.runs.arn}:*"]
  }

  # The whole bucket, so a missing compute log file is a 404 rather than a 403.
  statement {
    sid       = "ListBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.data.arn]
  }

  statement {
    sid = "ReadWriteComputeLogs"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
    ]
    resources = ["${aws_s3_bucket.data.arn}/${local.compute_log_prefix}/*"]
  }
}

resource "aws_iam_role_policy" "dagster" {
  name   = "launch-runs"
  role   = aws_iam_role.dagster.id
  policy = data.aws_iam_policy_document.dagster.json
}

# --- mlflow role --------------------------------------------------------------------------

resource "aws_iam_role" "mlflow" {
  name               = "${var.name}-mlflow"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "mlflow" {
  # The whole bucket, so a missing artifact is a 404 rather than a 403.
  statement {
    sid       = "ListBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.data.arn]
  }

  statement {
    sid = "ReadWriteArtifacts"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
    ]
    resources = ["${aws_s3_bucket.data.arn}/${local.mlflow_artifact_prefix}/*"]
  }
}

resource "aws_iam_role_policy" "mlflow" {
  name   = "mlflow-artifacts"
  role   = aws_iam_role.mlflow.id
  policy = data.aws_iam_policy_document.mlflow.json
}
