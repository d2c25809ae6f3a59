output "cluster_name" {
  description = "Name of the GKE cluster."
  value       = google_container_cluster.this.name
}

output "cluster_id" {
  description = "Full resource ID of the GKE cluster."
  value       = google_container_cluster.this.id
}

output "endpoint" {
  description = "IP address of the cluster's control plane (the private one when enable_private_endpoint is true)."
  value       = google_container_cluster.this.endpoint
}

output "cluster_ca_certificate" {
  description = "Base64-encoded CA certificate of the cluster's control plane."
  value       = google_container_cluster.this.master_auth[0].cluster_ca_certificate
}

output "workload_pool" {
  description = "The cluster's Workload Identity pool: <project>.svc.id.goog."
  value       = google_container_cluster.this.workload_identity_config[0].workload_pool
}

output "node_service_account" {
  description = "E-mail of the service account the nodes run as (needs pull access to the image's registry)."
  value       = google_service_account.nodes.email
}

output "namespace" {
  description = "Kubernetes namespace of the workload."
  value       = kubernetes_namespace_v1.skyduck.metadata[0].name
}

output "kubernetes_service_account" {
  description = "Kubernetes service account the workload runs as."
  value       = kubernetes_service_account_v1.skyduck.metadata[0].name
}

output "service_url" {
  description = "In-cluster URL of the skyduck API."
  value       = "http://${kubernetes_service_v1.skyduck.metadata[0].name}.${kubernetes_namespace_v1.skyduck.metadata[0].name}.svc.cluster.local:8080"
}
