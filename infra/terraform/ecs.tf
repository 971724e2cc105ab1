# ECS cluster, log groups, and the four long-running Fargate services: the Dagster
# webserver, the Dagster daemon, the risk_assets code server and the MLflow server.
# Run tasks are not declared here: the daemon registers and starts them (see
# run_launcher in infra/dagster.yaml).

resource "aws_ecs_cluster" "main" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "main" {
  cluster_name       = aws_ecs_cluster.main.name
  capacity_providers = ["FARGATE"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_cloudwatch_log_group" "service" {
  for_each = toset(["webserver", "daemon", "code-server", "mlflow"])

  name              = "/ecs/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
}

resource "aws_cloudwatch_log_group" "runs" {
  name              = "/ecs/${var.name}/runs"
  retention_in_days = var.log_retention_days
}

locals {
  # Environment shared by every Dagster process; infra/dagster.yaml reads these names.
  dagster_environment = {
    DAGSTER_HOME                   = "/opt/dagster/dagster_home"
    DAGSTER_PG_HOST                = aws_db_instance.main.address
    DAGSTER_PG_PORT                = tostring(aws_db_instance.main.port)
    DAGSTER_PG_DB                  = aws_db_instance.main.db_name
    DAGSTER_PG_USER                = var.db_username
    DAGSTER_PG_PASSWORD_SECRET_ARN = local.db_password_value_from
    DAGSTER_RUN_CONTAINER_NAME     = "run"
    DAGSTER_RUN_TASK_ROLE_ARN      = aws_iam_role.run.arn
    DAGSTER_RUN_EXECUTION_ROLE_ARN = aws_iam_role.execution.arn
    DAGSTER_RUN_LOG_GROUP          = aws_cloudwatch_log_group.runs.name
    DAGSTER_COMPUTE_LOG_PREFIX     = local.compute_log_prefix
    DAGSTER_CODE_SERVER_HOST       = local.code_server_host
    DAGSTER_CURRENT_IMAGE          = local.image
    RISK_PROFILE                   = "aws"
    RISK_S3_BUCKET                 = aws_s3_bucket.data.bucket
    RISK_S3_PREFIX                 = var.s3_prefix
    MLFLOW_TRACKING_URI            = "http://${local.mlflow_host}:5000"
    MLFLOW_DISABLE_TELEMETRY       = "true"
    DAGSTER_DISABLE_TELEMETRY      = "true"
    AWS_REGION                     = var.region
    AWS_DEFAULT_REGION             = var.region
  }

  dagster_secrets = [
    { name = "DAGSTER_PG_PASSWORD", valueFrom = local.db_password_value_from },
  ]

  services = {
    webserver = {
      cpu     = 1024
      memory  = 2048
      role    = aws_iam_role.dagster.arn
      port    = 3000
      command = ["dagster-webserver", "-h", "0.0.0.0", "-p", "3000", "-w", "/opt/dagster/dagster_home/workspace.yaml"]
      health  = "python -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/server_info', timeout=5)\""
    }
    daemon = {
      cpu     = 512
      memory  = 1024
      role    = aws_iam_role.dagster.arn
      port    = null
      command = ["dagster-daemon", "run", "-w", "/opt/dagster/dagster_home/workspace.yaml"]
      health  = "dagster-daemon liveness-check"
    }
    code-server = {
      cpu     = 1024
      memory  = 4096
      role    = aws_iam_role.run.arn
      port    = 4000
      command = ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "risk_assets.definitions", "--location-name", "risk_assets"]
      health  = "dagster api grpc-health-check -p 4000"
    }
  }
}

resource "aws_ecs_task_definition" "dagster" {
  for_each = local.services

  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = each.value.role

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name      = each.key
      image     = local.image
      essential = true
      command   = each.value.command
      memory    = each.value.memory
      portMappings = each.value.port == null ? [] : [
        { containerPort = each.value.port, protocol = "tcp" },
      ]
      environment = [for key, value in local.dagster_environment : { name = key, value = value }]
      secrets     = local.dagster_secrets
      healthCheck = {
        command     = ["CMD-SHELL", each.value.health]
        interval    = 30
        timeout     = 10
        retries     = 3
        startPeriod = 120
      }
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.service[each.key].name
          awslogs-region        = var.region
          awslogs-stream-prefix = each.key
        }
      }
    },
  ])
}

resource "aws_ecs_service" "dagster" {
  for_each = local.services

  name            = "${var.name}-${each.key}"
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.dagster[each.key].arn
  launch_type     = "FARGATE"
  desired_count   = 1

  # Dagster runs one daemon per instance, so a daemon deployment stops the old task
  # before it starts the new one.
  deployment_minimum_healthy_percent = each.key == "daemon" ? 0 : 100
  deployment_maximum_percent         = each.key == "daemon" ? 100 : 200

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  dynamic "service_registries" {
    for_each = each.key == "code-server" ? [aws_service_discovery_service.internal["code-server"].arn] : []

    content {
      registry_arn = service_registries.value
    }
  }

  dynamic "load_balancer" {
    for_each = each.key == "webserver" ? [aws_lb_target_group.webserver.arn] : []

    content {
      target_group_arn = load_balancer.value
      container_name   = each.key
      container_port   = 3000
    }
  }

  depends_on = [aws_lb_listener.webserver]
}
