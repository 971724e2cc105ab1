output "bucket_name" {
  description = "S3 bucket of asset data, MLflow artifacts and compute logs (RISK_S3_BUCKET)."
  value       = aws_s3_bucket.data.bucket
}

output "ecr_repository_url" {
  description = "Push the image here, tagged with var.image_tag."
  value       = aws_ecr_repository.app.repository_url
}

output "ecs_cluster_name" {
  description = "ECS cluster of the services and run tasks."
  value       = aws_ecs_cluster.main.name
}

output "dagster_ui_url" {
  description = "Dagster UI, reachable from var.allowed_cidr_blocks."
  value       = "http://${aws_lb.ui.dns_name}"
}

output "mlflow_ui_url" {
  description = "MLflow UI, reachable from var.allowed_cidr_blocks."
  value       = "http://${aws_lb.ui.dns_name}:5000"
}

output "mlflow_tracking_uri" {
  description = "Tracking URI that run tasks use inside the VPC (MLFLOW_TRACKING_URI)."
  value       = local.dagster_environment.MLFLOW_TRACKING_URI
}

output "db_endpoint" {
  description = "Address and port of the PostgreSQL instance."
  value       = "${aws_db_instance.main.address}:${aws_db_instance.main.port}"
}

output "db_secret_arn" {
  description = "Secrets Manager secret, managed by RDS, that holds the database user and password."
  value       = local.db_secret_arn
}

output "run_task_role_arn" {
  description = "IAM role of the code server and of every run task."
  value       = aws_iam_role.run.arn
}
