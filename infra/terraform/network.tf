# Security groups and the private DNS names that services use to reach each other.

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "Internal load balancer of the Dagster and MLflow user interfaces"
  vpc_id      = var.vpc_id
}

# One rule per allowed network and port: 80 for the Dagster UI, 5000 for the MLflow UI.
resource "aws_vpc_security_group_ingress_rule" "alb_ui" {
  for_each = {
    for pair in setproduct(var.allowed_cidr_blocks, [80, 5000]) :
    "${pair[0]}:${pair[1]}" => { cidr = pair[0], port = pair[1] }
  }

  security_group_id = aws_security_group.alb.id
  description       = each.value.port == 80 ? "Dagster UI" : "MLflow UI"
  cidr_ipv4         = each.value.cidr
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
}

resource "aws_vpc_security_group_egress_rule" "alb_to_tasks" {
  security_group_id            = aws_security_group.alb.id
  description                  = "Forward to the ECS tasks"
  referenced_security_group_id = aws_security_group.tasks.id
  ip_protocol                  = "tcp"
  from_port                    = 3000
  to_port                      = 5000
}

# One group for every ECS task: the webserver, the daemon, the code server, MLflow and
# the run tasks, which copy the daemon's network configuration.
resource "aws_security_group" "tasks" {
  name        = "${var.name}-tasks"
  description = "Dagster, MLflow and run tasks on ECS"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "tasks_from_alb" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "UIs behind the load balancer"
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = 3000
  to_port                      = 5000
}

# Runs and the daemon reach the code server (gRPC, 4000) and MLflow (HTTP, 5000).
resource "aws_vpc_security_group_ingress_rule" "tasks_internal" {
  for_each = {
    "Dagster code server gRPC"      = 4000
    "MLflow tracking API from runs" = 5000
  }

  security_group_id            = aws_security_group.tasks.id
  description                  = each.key
  referenced_security_group_id = aws_security_group.tasks.id
  ip_protocol                  = "tcp"
  from_port                    = each.value
  to_port                      = each.value
}

# Tasks pull images, call AWS APIs and reach PostgreSQL, so outbound traffic is open.
resource "aws_vpc_security_group_egress_rule" "tasks_all" {
  security_group_id = aws_security_group.tasks.id
  description       = "AWS APIs, ECR, S3, the database and other tasks"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}

resource "aws_security_group" "db" {
  name        = "${var.name}-db"
  description = "PostgreSQL for Dagster and MLflow"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "db_from_tasks" {
  security_group_id            = aws_security_group.db.id
  description                  = "PostgreSQL from ECS tasks"
  referenced_security_group_id = aws_security_group.tasks.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_service_discovery_private_dns_namespace" "internal" {
  name        = "${var.name}.internal"
  description = "Private names of the code server and the MLflow server"
  vpc         = var.vpc_id
}

resource "aws_service_discovery_service" "internal" {
  for_each = toset(["code-server", "mlflow"])

  name = each.key

  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.internal.id
    routing_policy = "MULTIVALUE"

    dns_records {
      type = "A"
      ttl  = 10
    }
  }

  health_check_custom_config {
    failure_threshold = 1
  }
}

locals {
  code_server_host = "code-server.${aws_service_discovery_private_dns_namespace.internal.name}"
  mlflow_host      = "mlflow.${aws_service_discovery_private_dns_namespace.internal.name}"
}
