output "db_password_secret_id" {
  description = "Full resource ID of the secret: projects/<project>/secrets/<name>-db-password."
  value       = google_secret_manager_secret.db_password.id
}

output "db_password_secret_version" {
  description = "Full resource ID of the secret version that holds the current password."
  value       = google_secret_manager_secret_version.db_password.name
}

output "db_password" {
  description = "The generated control plane database password."
  value       = random_password.db.result
  sensitive   = true
}
