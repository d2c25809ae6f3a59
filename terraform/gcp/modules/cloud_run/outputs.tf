output "service_name" {
  description = "Name of the Cloud Run service."
  value       = google_cloud_run_v2_service.this.name
}

output "service_id" {
  description = "Full resource ID of the Cloud Run service."
  value       = google_cloud_run_v2_service.this.id
}

output "service_url" {
  description = "URL of the service (reachable from the VPC only; callers need roles/run.invoker)."
  value       = google_cloud_run_v2_service.this.uri
}
