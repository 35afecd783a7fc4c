variable "namespace" {
  description = "Kubernetes namespace of the release; created by this module."
  type        = string
  default     = "credible"
}

variable "release_name" {
  description = "Helm release name (the objects are named after it)."
  type        = string
  default     = "credible"
}

variable "chart_path" {
  description = "Path of the Credible chart (deploy/helm/credible in the repository)."
  type        = string
  default     = null
}

variable "image_repository" {
  description = "Image repository, e.g. ghcr.io/<owner>/credible."
  type        = string
}

variable "image_tag" {
  description = "Image tag (a release tag pushed by the deploy workflow)."
  type        = string
}

variable "database_url" {
  description = "postgres:// URL of the managed PostgreSQL (add ?sslmode=verify-full where it offers TLS)."
  type        = string
  sensitive   = true

  validation {
    condition     = can(regex("^postgres(ql)?://", var.database_url))
    error_message = "database_url must be a postgres:// or postgresql:// URL."
  }
}

variable "redis_url" {
  description = "redis:// or rediss:// URL of the managed Redis (shared rate limits); null: none."
  type        = string
  sensitive   = true
  default     = null

  validation {
    condition     = var.redis_url == null || can(regex("^rediss?://", var.redis_url))
    error_message = "redis_url must be a redis:// or rediss:// URL."
  }
}

variable "jwt_secret" {
  description = "HS256 key of the API's access tokens, at least 32 characters (openssl rand -hex 32)."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.jwt_secret) >= 32
    error_message = "jwt_secret must be at least 32 characters."
  }
}

variable "totp_encryption_key" {
  description = "32 bytes as 64 hex characters (openssl rand -hex 32), encrypting TOTP secrets at rest."
  type        = string
  sensitive   = true

  validation {
    condition     = can(regex("^[0-9a-fA-F]{64}$", var.totp_encryption_key))
    error_message = "totp_encryption_key must be 64 hex characters."
  }
}

variable "metrics_token" {
  description = "Bearer token required on /metrics (at least 16 characters); null: none."
  type        = string
  sensitive   = true
  default     = null
}

variable "admin_password" {
  description = "Initial password of the administrator created at first start; null: a random one is logged once."
  type        = string
  sensitive   = true
  default     = null
}

variable "values" {
  description = "More chart values (values.yaml), merged over what this module sets."
  type        = any
  default     = {}
}

variable "wait_timeout_seconds" {
  description = "How long Helm waits for the migration and the rollout."
  type        = number
  default     = 600
}
