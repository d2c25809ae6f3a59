variable "project_id" {
  description = "Google Cloud project of the service."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be 6-30 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "region" {
  description = "Region of the service, e.g. europe-west1."
  type        = string
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1 or us-central1."
  }
}

variable "name" {
  description = "Name of the Cloud Run service (lowercase letters, digits and hyphens, starting with a letter, at most 49 characters)."
  type        = string
  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,47}[a-z0-9])?$", var.name))
    error_message = "name must be 1-49 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "image" {
  description = "Container image of skyduck-gcp, pinned by tag or digest."
  type        = string
}

variable "environment_variables" {
  description = "Environment of the skyduck container (SKYDUCK_CLOUD, SKYDUCK_STORAGE_BUCKET, SKYDUCK_KMS_KEY, ...)."
  type        = map(string)
}

variable "service_account_email" {
  description = "E-mail of the Google service account the service runs as."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\\.iam\\.gserviceaccount\\.com$", var.service_account_email))
    error_message = "service_account_email must be a service account e-mail: <id>@<project>.iam.gserviceaccount.com."
  }
}

variable "network_id" {
  description = "ID or self link of the VPC network the service sends private traffic into (Direct VPC egress)."
  type        = string
}

variable "subnetwork_id" {
  description = "ID or self link of the subnet the service's instances take their VPC addresses from."
  type        = string
}

variable "vpc_egress" {
  description = "Which outbound traffic goes through the VPC: PRIVATE_RANGES_ONLY or ALL_TRAFFIC."
  type        = string
  default     = "PRIVATE_RANGES_ONLY"
  validation {
    condition     = contains(["PRIVATE_RANGES_ONLY", "ALL_TRAFFIC"], var.vpc_egress)
    error_message = "vpc_egress must be PRIVATE_RANGES_ONLY or ALL_TRAFFIC."
  }
}

variable "min_instances" {
  description = "Instances kept running; at least 1 so snapshots are written on schedule between requests."
  type        = number
  default     = 1
  validation {
    condition     = var.min_instances >= 0 && floor(var.min_instances) == var.min_instances
    error_message = "min_instances must be a whole number, 0 or more."
  }
}

variable "max_instances" {
  description = "Most instances. skyduck writes snapshots of one DuckDB database, so keep 1 unless the build supports several writers."
  type        = number
  default     = 1
  validation {
    condition     = var.max_instances >= 1 && floor(var.max_instances) == var.max_instances
    error_message = "max_instances must be a whole number, 1 or more."
  }
}

variable "cpu" {
  description = "CPU limit of the container (e.g. 1, 2, 4)."
  type        = string
  default     = "2"
  validation {
    condition     = contains(["1", "2", "4", "6", "8"], var.cpu)
    error_message = "cpu must be one of 1, 2, 4, 6, 8."
  }
}

variable "memory" {
  description = "Memory limit of the container (e.g. 2Gi, 4Gi)."
  type        = string
  default     = "4Gi"
  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.memory))
    error_message = "memory must be a quantity in Mi or Gi, e.g. 4Gi."
  }
}

variable "invoker_members" {
  description = "IAM members allowed to call the service (roles/run.invoker on this service only), e.g. [\"serviceAccount:client@p.iam.gserviceaccount.com\"]."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for member in var.invoker_members : can(regex("^(serviceAccount|user|group|principal|principalSet):", member))])
    error_message = "invoker_members must be IAM members such as serviceAccount:<e-mail>, user:<e-mail> or group:<e-mail> (allUsers is not allowed)."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the service from Terraform; true for production."
  type        = bool
}

variable "labels" {
  description = "Labels put on the service."
  type        = map(string)
  default     = {}
}
