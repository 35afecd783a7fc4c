output "namespace" {
  description = "Namespace of the release."
  value       = kubernetes_namespace.credible.metadata[0].name
}

output "release_name" {
  description = "Helm release name."
  value       = helm_release.credible.name
}

output "secret_name" {
  description = "Secret holding DATABASE_URL, REDIS_URL and the application secrets."
  value       = kubernetes_secret.credible.metadata[0].name
}

output "service" {
  description = "In-cluster address of the HTTP service."
  value       = "${helm_release.credible.name}.${kubernetes_namespace.credible.metadata[0].name}.svc.cluster.local"
}
