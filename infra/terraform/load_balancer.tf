# Internal load balancer for people: the Dagster UI on port 80 and the MLflow UI on
# port 5000, reachable only from var.allowed_cidr_blocks.
#
# NOTE: the Dagster webserver and the MLflow server as configured here have no login.
# Keep the load balancer internal, and add HTTPS with authentication (for example an
# OIDC listener rule) before opening it wider.

resource "aws_lb" "ui" {
  name               = "${var.name}-ui"
  internal           = true
  load_balancer_type = "application"
  security_groups    = [aws_security_group.alb.id]
  subnets            = var.private_subnet_ids

  drop_invalid_header_fields = true
}

resource "aws_lb_target_group" "webserver" {
  name        = "${var.name}-webserver"
  port        = 3000
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id

  health_check {
    path    = "/server_info"
    matcher = "200"
  }
}

resource "aws_lb_target_group" "mlflow" {
  name        = "${var.name}-mlflow"
  port        = 5000
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id

  health_check {
    path    = "/health"
    matcher = "200"
  }
}

resource "aws_lb_listener" "webserver" {
  load_balancer_arn = aws_lb.ui.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.webserver.arn
  }
}

resource "aws_lb_listener" "mlflow" {
  load_balancer_arn = aws_lb.ui.arn
  port              = 5000
  protocol          = "HTTP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.mlflow.arn
  }
}
