# Variables of the GCP root only. name, environment, image, snapshot_interval and labels come from
# shared_variables.tf, a symlink to ../shared/variables.tf.

variable "project_id" {
  description = "Google Cloud project everything is created in (one project per environment is recommended)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be 6-30 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "region" {
  description = "Region of the bucket, key, database, cluster or service, e.g. europe-west1."
  type        = string
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1 or us-central1."
  }
}

variable "runtime" {
  description = "Where skyduck runs: gke (a private GKE cluster) or cloud_run (a Cloud Run service)."
  type        = string
  default     = "gke"
  validation {
    condition     = contains(["gke", "cloud_run"], var.runtime)
    error_message = "runtime must be gke or cloud_run."
  }
}

variable "subnet_cidr" {
  description = "Primary range of the subnet (GKE nodes, Cloud Run Direct VPC egress addresses)."
  type        = string
  default     = "10.10.0.0/20"
  validation {
    condition     = can(cidrnetmask(var.subnet_cidr))
    error_message = "subnet_cidr must be an IPv4 CIDR block such as 10.10.0.0/20."
  }
}

variable "pods_cidr" {
  description = "Secondary range of the subnet for GKE pod addresses."
  type        = string
  default     = "10.20.0.0/16"
  validation {
    condition     = can(cidrnetmask(var.pods_cidr))
    error_message = "pods_cidr must be an IPv4 CIDR block such as 10.20.0.0/16."
  }
}

variable "services_cidr" {
  description = "Secondary range of the subnet for GKE service addresses."
  type        = string
  default     = "10.30.0.0/20"
  validation {
    condition     = can(cidrnetmask(var.services_cidr))
    error_message = "services_cidr must be an IPv4 CIDR block such as 10.30.0.0/20."
  }
}

variable "master_ipv4_cidr_block" {
  description = "The /28 the GKE control plane's private endpoint lives in; must not overlap any other range here."
  type        = string
  default     = "172.16.0.0/28"
  validation {
    condition     = can(cidrnetmask(var.master_ipv4_cidr_block)) && endswith(var.master_ipv4_cidr_block, "/28")
    error_message = "master_ipv4_cidr_block must be an IPv4 CIDR block of size /28, e.g. 172.16.0.0/28."
  }
}

variable "private_service_cidr" {
  description = "Range reserved for private service access (Cloud SQL's private IP is taken from it); /24 or larger."
  type        = string
  default     = "10.40.0.0/16"
  validation {
    condition     = can(cidrnetmask(var.private_service_cidr)) && try(tonumber(split("/", var.private_service_cidr)[1]) <= 24, false)
    error_message = "private_service_cidr must be an IPv4 CIDR block of size /24 or larger (a prefix length of at most 24), e.g. 10.40.0.0/16."
  }
}

variable "master_authorized_cidrs" {
  description = "CIDR blocks allowed to reach the GKE control plane (where Terraform and kubectl run). Empty: no network restriction beyond Google authentication."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for cidr in var.master_authorized_cidrs : can(cidrnetmask(cidr))])
    error_message = "Every master_authorized_cidrs entry must be an IPv4 CIDR block such as 203.0.113.0/24."
  }
}

variable "cloud_run_invoker_members" {
  description = "IAM members allowed to call the Cloud Run service (runtime = cloud_run), e.g. [\"serviceAccount:client@p.iam.gserviceaccount.com\"]."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for member in var.cloud_run_invoker_members : can(regex("^(serviceAccount|user|group|principal|principalSet):", member))])
    error_message = "cloud_run_invoker_members must be IAM members such as serviceAccount:<e-mail>, user:<e-mail> or group:<e-mail> (allUsers is not allowed)."
  }
}

variable "bucket_name" {
  description = "Name of the snapshot bucket; null picks <name>-<environment>-snapshots-<8 hex digits of the project id>."
  type        = string
  default     = null
  validation {
    condition = var.bucket_name == null ? true : (
      can(regex("^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$", var.bucket_name)) &&
      !startswith(var.bucket_name, "goog") &&
      !strcontains(var.bucket_name, "google")
    )
    error_message = "bucket_name must be 3-63 characters of lowercase letters, digits, hyphens and underscores, start and end with a letter or digit, not start with goog and not contain google (dotted names are not supported here)."
  }
}

variable "noncurrent_version_retention_days" {
  description = "Days a replaced or deleted snapshot object version is kept before it is deleted."
  type        = number
  default     = 30
  validation {
    condition     = var.noncurrent_version_retention_days >= 1 && floor(var.noncurrent_version_retention_days) == var.noncurrent_version_retention_days
    error_message = "noncurrent_version_retention_days must be a whole number of at least 1."
  }
}
