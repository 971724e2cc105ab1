# One PostgreSQL instance holds two databases: `dagster` (runs, event logs, schedules),
# created here, and `mlflow` (tracking and model registry), created on first start by
# the MLflow service through infra/docker/ensure-database.sh.
#
# RDS generates the master password and keeps it in a Secrets Manager secret that it
# rotates; the password never appears in Terraform code, variables or state.

resource "aws_db_subnet_group" "main" {
  name       = var.name
  subnet_ids = var.private_subnet_ids
}

resource "aws_db_instance" "main" {
  identifier = var.name
  engine     = "postgres"
  # From major version 15 on, RDS for PostgreSQL sets rds.force_ssl to 1 in its default
  # parameter group, so clients must use TLS (AWS RDS User Guide, "Updating applications
  # to connect to PostgreSQL DB instances using new SSL/TLS certificates").
  engine_version = "16"
  instance_class = var.db_instance_class

  db_name                     = "dagster"
  username                    = var.db_username
  manage_master_user_password = true

  allocated_storage     = var.db_allocated_storage_gb
  max_allocated_storage = var.db_allocated_storage_gb * 5
  storage_type          = "gp3"
  storage_encrypted     = true

  db_subnet_group_name   = aws_db_subnet_group.main.name
  vpc_security_group_ids = [aws_security_group.db.id]
  publicly_accessible    = false
  multi_az               = false

  backup_retention_period   = 7
  deletion_protection       = var.db_deletion_protection
  skip_final_snapshot       = false
  final_snapshot_identifier = "${var.name}-final"
  copy_tags_to_snapshot     = true

  auto_minor_version_upgrade = true
}

locals {
  db_secret_arn = aws_db_instance.main.master_user_secret[0].secret_arn

  # ECS reads one JSON key of the RDS-managed secret with the `ARN:key::` form.
  db_password_value_from = "${local.db_secret_arn}:password::"
}
