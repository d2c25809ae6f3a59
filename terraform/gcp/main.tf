# skyduck on Google Cloud: the encrypted snapshot bucket and its Cloud KMS key, the workload's service
# account with access to that bucket and that key only, a private VPC, Cloud SQL for the control plane
# database, and skyduck itself on GKE or Cloud Run (var.runtime).

locals {
  prefix     = "${var.name}-${var.environment}"
  env_short  = { dev = "dev", staging = "stg", production = "prd" }[var.environment]
  production = var.environment == "production"

  labels = merge(var.labels, {
    app         = "skyduck"
    environment = var.environment
    managed-by  = "terraform"
  })

  bucket_name = coalesce(var.bucket_name, "${local.prefix}-snapshots-${substr(sha1(var.project_id), 0, 8)}")

  # Where the workload runs on GKE; the Workload Identity binding below names the same pair.
  k8s_namespace       = "skyduck"
  k8s_service_account = "skyduck"

  # Read by the shared outputs (shared_outputs.tf).
  bucket            = google_storage_bucket.snapshots.name
  kms_key           = module.cloud_kms.crypto_key_id
  workload_identity = google_service_account.skyduck.email

  # skyduck's environment, the same on GKE and on Cloud Run.
  skyduck_environment = {
    SKYDUCK_CLOUD             = "gcp"
    SKYDUCK_CLOUD_REGION      = var.region
    SKYDUCK_STORAGE_BUCKET    = local.bucket
    SKYDUCK_KMS_KEY           = local.kms_key
    SKYDUCK_IDENTITY          = "workload"
    SKYDUCK_LISTEN            = "0.0.0.0:8080"
    SKYDUCK_SNAPSHOT_INTERVAL = var.snapshot_interval
    GOOGLE_CLOUD_PROJECT      = var.project_id
  }
}

# --- APIs -------------------------------------------------------------------------------------------

resource "google_project_service" "apis" {
  for_each = toset([
    "artifactregistry.googleapis.com",
    "cloudkms.googleapis.com",
    "compute.googleapis.com",
    "container.googleapis.com",
    "iam.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "servicenetworking.googleapis.com",
    "sqladmin.googleapis.com",
    "storage.googleapis.com",
  ])

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# --- Network ----------------------------------------------------------------------------------------

resource "google_compute_network" "vpc" {
  project                 = var.project_id
  name                    = "${local.prefix}-vpc"
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"

  depends_on = [google_project_service.apis]
}

resource "google_compute_subnetwork" "main" {
  project       = var.project_id
  name          = "${local.prefix}-${var.region}"
  region        = var.region
  network       = google_compute_network.vpc.id
  ip_cidr_range = var.subnet_cidr

  # Private nodes and Cloud Run reach Google APIs (GCS, Cloud KMS) without public addresses.
  private_ip_google_access = true

  secondary_ip_range {
    range_name    = "pods"
    ip_cidr_range = var.pods_cidr
  }

  secondary_ip_range {
    range_name    = "services"
    ip_cidr_range = var.services_cidr
  }

  log_config {
    aggregation_interval = "INTERVAL_5_SEC"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

# Outbound internet for private nodes (image pulls from registries outside Google, e.g. ghcr.io).
resource "google_compute_router" "nat" {
  project = var.project_id
  name    = "${local.prefix}-router"
  region  = var.region
  network = google_compute_network.vpc.id
}

resource "google_compute_router_nat" "nat" {
  project                            = var.project_id
  name                               = "${local.prefix}-nat"
  router                             = google_compute_router.nat.name
  region                             = var.region
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}

# Private service access: Cloud SQL gets its private IP from this range, peered into the VPC.
resource "google_compute_global_address" "private_services" {
  project       = var.project_id
  name          = "${local.prefix}-private-services"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  address       = cidrhost(var.private_service_cidr, 0)
  prefix_length = tonumber(split("/", var.private_service_cidr)[1])
  network       = google_compute_network.vpc.id
}

resource "google_service_networking_connection" "private_services" {
  network                 = google_compute_network.vpc.id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.private_services.name]
}

# --- Key, bucket, identity --------------------------------------------------------------------------

module "cloud_kms" {
  source = "./modules/cloud_kms"

  project_id = var.project_id
  region     = var.region
  name       = local.prefix
  labels     = local.labels

  depends_on = [google_project_service.apis]
}

# The snapshot bucket. Objects are encrypted at rest with the Cloud KMS key (CMEK) and skyduck wraps
# each snapshot's data key with the same key. In transit, TLS is always on: the Cloud Storage APIs are
# served over HTTPS only, so there is no setting (and no bucket policy) to turn it on.
resource "google_storage_bucket" "snapshots" {
  project       = var.project_id
  name          = local.bucket_name
  location      = var.region
  storage_class = "STANDARD"
  force_destroy = !local.production
  labels        = local.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  versioning {
    enabled = true
  }

  encryption {
    default_kms_key_name = module.cloud_kms.crypto_key_id
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_retention_days
    }
    action {
      type = "Delete"
    }
  }

  # The Cloud Storage service agent must be allowed to use the key before the bucket names it.
  depends_on = [module.cloud_kms]
}

# The identity skyduck runs as, on GKE (through Workload Identity) and on Cloud Run.
resource "google_service_account" "skyduck" {
  project      = var.project_id
  account_id   = "${var.name}-${local.env_short}"
  display_name = "skyduck ${var.environment}"
  description  = "Runs skyduck: reads and writes the snapshot bucket, wraps data keys with the Cloud KMS key."

  depends_on = [google_project_service.apis]
}

# Least privilege: object access on THIS bucket only (never a project-level storage role).
resource "google_storage_bucket_iam_member" "skyduck_objects" {
  bucket = google_storage_bucket.snapshots.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.skyduck.email}"
}

# Least privilege: encrypt/decrypt with THIS key only (never on the key ring or the project).
resource "google_kms_crypto_key_iam_member" "skyduck_key" {
  crypto_key_id = module.cloud_kms.crypto_key_id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${google_service_account.skyduck.email}"
}

# Workload Identity: the Kubernetes service account <namespace>/<ksa> may act as the Google service
# account. The pool <project>.svc.id.goog exists once the cluster does, hence the cluster's output.
resource "google_service_account_iam_member" "skyduck_workload_identity" {
  count = var.runtime == "gke" ? 1 : 0

  service_account_id = google_service_account.skyduck.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${module.gke[0].workload_pool}[${local.k8s_namespace}/${local.k8s_service_account}]"
}

# --- Images, secrets, database ----------------------------------------------------------------------

module "registry" {
  source = "./modules/registry"

  project_id    = var.project_id
  region        = var.region
  repository_id = "${local.prefix}-images"
  labels        = local.labels

  # The GKE nodes pull the image; Cloud Run pulls with its own service agent (same project).
  reader_members = {
    for key, member in { gke_nodes = "serviceAccount:${var.runtime == "gke" ? module.gke[0].node_service_account : ""}" } :
    key => member if var.runtime == "gke"
  }

  depends_on = [google_project_service.apis]
}

module "secrets" {
  source = "./modules/secrets"

  project_id = var.project_id
  region     = var.region
  name       = local.prefix
  labels     = local.labels

  depends_on = [google_project_service.apis]
}

module "cloudsql" {
  source = "./modules/cloudsql"

  project_id          = var.project_id
  region              = var.region
  name                = "${local.prefix}-pg"
  network_id          = google_compute_network.vpc.id
  db_password         = module.secrets.db_password
  deletion_protection = local.production
  availability_type   = local.production ? "REGIONAL" : "ZONAL"
  labels              = local.labels

  depends_on = [google_service_networking_connection.private_services]
}

# --- Runtime: GKE or Cloud Run ----------------------------------------------------------------------

module "gke" {
  source = "./modules/gke"
  count  = var.runtime == "gke" ? 1 : 0

  project_id                 = var.project_id
  region                     = var.region
  name                       = local.prefix
  network_id                 = google_compute_network.vpc.id
  subnetwork_id              = google_compute_subnetwork.main.id
  pods_range_name            = google_compute_subnetwork.main.secondary_ip_range[0].range_name
  services_range_name        = google_compute_subnetwork.main.secondary_ip_range[1].range_name
  master_ipv4_cidr_block     = var.master_ipv4_cidr_block
  master_authorized_cidrs    = var.master_authorized_cidrs
  deletion_protection        = local.production
  namespace                  = local.k8s_namespace
  kubernetes_service_account = local.k8s_service_account
  gcp_service_account_email  = google_service_account.skyduck.email
  image                      = var.image
  environment_variables      = local.skyduck_environment
  labels                     = local.labels

  # The nodes need NAT to pull images from outside Google; skyduck needs the bucket and the key.
  depends_on = [
    google_project_service.apis,
    google_compute_router_nat.nat,
    google_storage_bucket_iam_member.skyduck_objects,
    google_kms_crypto_key_iam_member.skyduck_key,
  ]
}

module "cloud_run" {
  source = "./modules/cloud_run"
  count  = var.runtime == "cloud_run" ? 1 : 0

  project_id            = var.project_id
  region                = var.region
  name                  = local.prefix
  image                 = var.image
  environment_variables = local.skyduck_environment
  service_account_email = google_service_account.skyduck.email
  network_id            = google_compute_network.vpc.id
  subnetwork_id         = google_compute_subnetwork.main.id
  invoker_members       = var.cloud_run_invoker_members
  deletion_protection   = local.production
  labels                = local.labels

  # skyduck must be able to use the bucket and the key before its first revision starts.
  depends_on = [
    google_project_service.apis,
    google_storage_bucket_iam_member.skyduck_objects,
    google_kms_crypto_key_iam_member.skyduck_key,
  ]
}
