# Example: Credible on an existing cluster, with a managed PostgreSQL and Redis. The URLs and the
# secrets come from variables (e.g. TF_VAR_database_url in the environment, or a secret manager's
# data source); nothing secret is written here.
#
#   cd deploy/terraform/examples/managed
#   terraform init
#   terraform apply -var image_tag=0.1.0

terraform {
  required_version = ">= 1.5"
}

provider "kubernetes" {
  config_path    = var.kubeconfig
  config_context = var.kube_context
}

provider "helm" {
  kubernetes {
    config_path    = var.kubeconfig
    config_context = var.kube_context
  }
}

variable "kubeconfig" {
  type    = string
  default = "~/.kube/config"
}

variable "kube_context" {
  type    = string
  default = null
}

variable "image_tag" {
  type = string
}

variable "database_url" {
  type      = string
  sensitive = true
}

variable "redis_url" {
  type      = string
  sensitive = true
}

variable "jwt_secret" {
  type      = string
  sensitive = true
}

variable "totp_encryption_key" {
  type      = string
  sensitive = true
}

module "credible" {
  source = "../.."

  namespace           = "credible"
  image_repository    = "ghcr.io/example/credible"
  image_tag           = var.image_tag
  database_url        = var.database_url
  redis_url           = var.redis_url
  jwt_secret          = var.jwt_secret
  totp_encryption_key = var.totp_encryption_key

  values = {
    ingress = {
      enabled   = true
      className = "nginx"
      host      = "credible.example.com"
      annotations = {
        "cert-manager.io/cluster-issuer" = "letsencrypt"
      }
      tls = {
        secretName = "credible-tls"
      }
    }
    extraEnv = {
      ORIGIN = "https://credible.example.com"
    }
  }
}

output "service" {
  value = module.credible.service
}
