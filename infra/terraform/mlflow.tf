# MLflow tracking server: PostgreSQL for runs and the model registry, S3 for artifacts.
# Clients send artifacts through the server (`--artifacts-destination`), so only the
# MLflow role can write under the mlflow/ prefix of the bucket.

locals {
  mlflow_command = join(" ", [
    "ensure-database.sh mlflow &&",
    "exec mlflow server --host 0.0.0.0 --port 5000 --workers 2",
    "--backend-store-uri \"postgresql://$PGUSER@$PGHOST:$PGPORT/mlflow\"",
    "--artifacts-destination s3://${aws_s3_bucket.data.bucket}/${local.mlflow_artifact_prefix}",
    "--allowed-hosts \"${local.mlflow_host}:5000,${aws_lb.ui.dns_name}:5000,localhost:5000\"",
  ])
}

resource "aws_ecs_task_definition" "mlflow" {
  family                   = "${var.name}-mlflow"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 1024
  memory                   = 2048
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.mlflow.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name         = "mlflow"
      image        = local.image
      essential    = true
      memory       = 2048
      entryPoint   = ["sh", "-c"]
      command      = [local.mlflow_command]
      portMappings = [{ containerPort = 5000, protocol = "tcp" }]
      # libpq reads the connection from these variables, so the password never appears
      # in the backend store URI or the process list.
      environment = [
        { name = "PGHOST", value = aws_db_instance.main.address },
        { name = "PGPORT", value = tostring(aws_db_instance.main.port) },
        { name = "PGUSER", value = var.db_username },
        { name = "PGDATABASE", value = "postgres" },
        { name = "PGSSLMODE", value = "require" },
        { name = "MLFLOW_DISABLE_TELEMETRY", value = "true" },
        { name = "AWS_REGION", value = var.region },
        { name = "AWS_DEFAULT_REGION", value = var.region },
      ]
      secrets = [
        { name = "PGPASSWORD", valueFrom = local.db_password_value_from },
      ]
      healthCheck = {
        command     = ["CMD-SHELL", "python -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/health', timeout=5)\""]
        interval    = 30
        timeout     = 10
        retries     = 3
        startPeriod = 120
      }
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.service["mlflow"].name
          awslogs-region        = var.region
          awslogs-stream-prefix = "mlflow"
        }
      }
    },
  ])
}

resource "aws_ecs_service" "mlflow" {
  name            = "${var.name}-mlflow"
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.mlflow.arn
  launch_type     = "FARGATE"
  desired_count   = 1

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  service_registries {
    registry_arn = aws_service_discovery_service.internal["mlflow"].arn
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.mlflow.arn
    container_name   = "mlflow"
    container_port   = 5000
  }

  depends_on = [aws_lb_listener.mlflow]
}
