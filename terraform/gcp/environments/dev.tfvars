# dev: pass with -var-file=environments/dev.tfvars. Replace the project id with yours.

# Shared variables (../shared/variables.tf, linked in as shared_variables.tf).
name        = "skyduck"
environment = "dev"
# Cloud Run pulls from Artifact Registry: push the image to the registry_url output first
# (terraform apply -target=module.registry, then docker push).
image             = "europe-west1-docker.pkg.dev/skyduck-dev/skyduck-dev-images/skyduck-gcp:0.1.0"
snapshot_interval = "1h"
labels = {
  team = "data-platform"
}

# GCP root variables.
project_id = "skyduck-dev"
region     = "europe-west1"
runtime    = "cloud_run"
