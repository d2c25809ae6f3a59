provider "google" {
  project = var.project_id
  region  = var.region
}

# An access token of whoever runs Terraform, for the kubernetes provider.
data "google_client_config" "current" {}

# Talks to the GKE cluster of module.gke. With runtime = "cloud_run" there is no cluster and no
# Kubernetes resource, so the provider stays unconfigured (and unused).
provider "kubernetes" {
  host                   = var.runtime == "gke" ? "https://${module.gke[0].endpoint}" : null
  cluster_ca_certificate = var.runtime == "gke" ? base64decode(module.gke[0].cluster_ca_certificate) : null
  token                  = data.google_client_config.current.access_token
}
