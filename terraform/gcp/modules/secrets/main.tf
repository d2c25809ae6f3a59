# The control plane database password: generated here, stored in Secret Manager, read by the cloudsql
# module (as the user's password) and by whoever accessor_members names.
# The generated value is also in the Terraform state: keep the state in a private, encrypted backend
# (see backend.tf.example in the root).

resource "random_password" "db" {
  length           = var.password_length
  special          = true
  override_special = "-_.~!#%^*+="
  min_lower        = 2
  min_upper        = 2
  min_numeric      = 2
}

resource "google_secret_manager_secret" "db_password" {
  project   = var.project_id
  secret_id = "${var.name}-db-password"
  labels    = var.labels

  replication {
    user_managed {
      replicas {
        location = var.region
      }
    }
  }
}

resource "google_secret_manager_secret_version" "db_password" {
  secret      = google_secret_manager_secret.db_password.id
  secret_data = random_password.db.result
}

resource "google_secret_manager_secret_iam_member" "accessors" {
  for_each = var.accessor_members

  project   = var.project_id
  secret_id = google_secret_manager_secret.db_password.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = each.value
}
