# Installs the Credible chart with its namespace and its Secret. The database and Redis are
# managed services outside the cluster: their URLs arrive as sensitive variables and reach the
# pods only through the Secret.

locals {
  secret_name = "${var.release_name}-secrets"
  chart_path  = coalesce(var.chart_path, "${path.module}/../helm/credible")
  secret_data = { for name, value in {
    DATABASE_URL            = var.database_url
    REDIS_URL               = var.redis_url
    JWT_SECRET              = var.jwt_secret
    TOTP_ENCRYPTION_KEY     = var.totp_encryption_key
    METRICS_TOKEN           = var.metrics_token
    CREDIBLE_ADMIN_PASSWORD = var.admin_password
  } : name => value if value != null }
}

resource "kubernetes_namespace" "credible" {
  metadata {
    name = var.namespace
    labels = {
      "app.kubernetes.io/part-of" = "credible"
    }
  }
}

resource "kubernetes_secret" "credible" {
  metadata {
    name      = local.secret_name
    namespace = kubernetes_namespace.credible.metadata[0].name
  }
  type = "Opaque"
  data = local.secret_data
}

resource "helm_release" "credible" {
  name      = var.release_name
  namespace = kubernetes_namespace.credible.metadata[0].name
  chart     = local.chart_path

  # The migration Job hook and the rolling update both finish before apply returns.
  wait            = true
  wait_for_jobs   = true
  atomic          = true
  cleanup_on_fail = true
  timeout         = var.wait_timeout_seconds

  values = [
    yamlencode({
      image = {
        repository = var.image_repository
        tag        = var.image_tag
      }
      existingSecret = kubernetes_secret.credible.metadata[0].name
    }),
    yamlencode(var.values),
  ]

  # A changed secret restarts the pods (they read it at start-up only).
  set {
    name  = "podAnnotations.credible\\.dev/secret-sha256"
    value = nonsensitive(sha256(jsonencode(local.secret_data)))
  }
}
