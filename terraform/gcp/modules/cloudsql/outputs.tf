output "instance_name" {
  description = "Name of the Cloud SQL instance."
  value       = google_sql_database_instance.this.name
}

output "connection_name" {
  description = "Connection name of the instance (<project>:<region>:<instance>), for the Cloud SQL connectors."
  value       = google_sql_database_instance.this.connection_name
}

output "private_ip_address" {
  description = "The instance's private IP address in the VPC."
  value       = google_sql_database_instance.this.private_ip_address
}

output "database_name" {
  description = "Name of the control plane database."
  value       = google_sql_database.this.name
}

output "user_name" {
  description = "Name of the database user."
  value       = google_sql_user.this.name
}
