output "repository_id" {
  description = "Full resource ID of the repository."
  value       = google_artifact_registry_repository.this.id
}

output "repository_url" {
  description = "Where images are pushed and pulled: <region>-docker.pkg.dev/<project>/<repository>."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.this.repository_id}"
}
