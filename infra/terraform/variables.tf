variable "region" {
  description = "AWS region for every resource."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Prefix of resource names; also the ECR repository and ECS cluster name."
  type        = string
  default     = "risk-assets"
}

variable "vpc_id" {
  description = "VPC that the ECS tasks, the load balancer and the database run in."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (at least two, in different zones) with a NAT route or VPC endpoints for ECR, S3, CloudWatch Logs and Secrets Manager."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "private_subnet_ids needs at least two subnets in different availability zones, because RDS and the load balancer require two zones."
  }
}

variable "allowed_cidr_blocks" {
  description = "Networks (VPN, office) allowed to open the Dagster UI and the MLflow UI through the internal load balancer."
  type        = list(string)
}

variable "image_tag" {
  description = "Tag of the risk_assets image in ECR that every service runs."
  type        = string
}

variable "bucket_name" {
  description = "Name of the S3 bucket for asset data, MLflow artifacts and Dagster compute logs."
  type        = string
}

variable "s3_prefix" {
  description = "Key prefix of asset data inside the bucket (RISK_S3_PREFIX)."
  type        = string
  default     = "risk_assets"
}

variable "db_instance_class" {
  description = "RDS instance class of the PostgreSQL database."
  type        = string
  default     = "db.t4g.small"
}

variable "db_allocated_storage_gb" {
  description = "Initial RDS storage in GiB; storage grows automatically up to 5 times this."
  type        = number
  default     = 20
}

variable "db_username" {
  description = "Master user name of the database. RDS generates and rotates its password in Secrets Manager."
  type        = string
  default     = "risk_admin"
}

variable "db_deletion_protection" {
  description = "Block deletion of the database until this is set to false and applied."
  type        = bool
  default     = true
}

variable "log_retention_days" {
  description = "Retention of the CloudWatch log groups, in days."
  type        = number
  default     = 30
}
