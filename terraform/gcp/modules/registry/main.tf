# The Artifact Registry Docker repository the skyduck-gcp images are pushed to.

resource "google_artifact_registry_repository" "this" {
  project       = var.project_id
  location      = var.region
  repository_id = var.repository_id
  description   = "skyduck container images"
  format        = "DOCKER"
  labels        = var.labels

  docker_config {
    immutable_tags = var.immutable_tags
  }

  dynamic "cleanup_policies" {
    for_each = var.untagged_retention_days > 0 ? [1] : []
    content {
      id     = "delete-old-untagged"
      action = "DELETE"
      condition {
        tag_state  = "UNTAGGED"
        older_than = "${var.untagged_retention_days * 86400}s"
      }
    }
  }
}

# Pull access on this repository only.
resource "google_artifact_registry_repository_iam_member" "readers" {
  for_each = var.reader_members

  project    = var.project_id
  location   = google_artifact_registry_repository.this.location
  repository = google_artifact_registry_repository.this.name
  role       = "roles/artifactregistry.reader"
  member     = each.value
}
