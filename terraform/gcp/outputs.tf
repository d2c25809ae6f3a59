# Outputs of the GCP root only. bucket, kms_key, workload_identity and skyduck_environment come from
# shared_outputs.tf, a symlink to ../shared/outputs.tf.

output "runtime" {
  description = "Where skyduck runs: gke or cloud_run."
  value       = var.runtime
}

output "service_url" {
  description = "URL of the skyduck API: the in-cluster service URL on GKE, the internal Cloud Run URL on Cloud Run."
  value       = var.runtime == "gke" ? module.gke[0].service_url : module.cloud_run[0].service_url
}

output "gke_cluster_name" {
  description = "Name of the GKE cluster (null with runtime = cloud_run)."
  value       = var.runtime == "gke" ? module.gke[0].cluster_name : null
}

output "registry_url" {
  description = "Artifact Registry repository to push skyduck-gcp images to: <region>-docker.pkg.dev/<project>/<repository>."
  value       = module.registry.repository_url
}

output "network" {
  description = "ID of the VPC network."
  value       = google_compute_network.vpc.id
}

output "cloudsql_connection_name" {
  description = "Connection name of the control plane database instance (<project>:<region>:<instance>)."
  value       = module.cloudsql.connection_name
}

output "cloudsql_private_ip" {
  description = "Private IP address of the control plane database instance."
  value       = module.cloudsql.private_ip_address
}

output "db_password_secret" {
  description = "Secret Manager secret that holds the control plane database password."
  value       = module.secrets.db_password_secret_id
}
