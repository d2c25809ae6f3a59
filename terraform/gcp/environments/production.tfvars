# production: pass with -var-file=environments/production.tfvars. Replace the project id with yours.

# Shared variables (../shared/variables.tf, linked in as shared_variables.tf).
name        = "skyduck"
environment = "production"
# Cloud Run pulls from Artifact Registry: push the image to the registry_url output first
# (terraform apply -target=module.registry, then docker push).
image             = "europe-west1-docker.pkg.dev/skyduck-prod/skyduck-production-images/skyduck-gcp:0.1.0"
snapshot_interval = "15m"
labels = {
  team = "data-platform"
}

# GCP root variables.
project_id = "skyduck-prod"
region     = "europe-west1"
runtime    = "gke"

# Only these networks may reach the GKE control plane (replace with your runner's and admins' ranges).
master_authorized_cidrs = ["203.0.113.0/24"]
