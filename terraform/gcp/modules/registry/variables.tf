variable "project_id" {
  description = "Google Cloud project that holds the repository."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be 6-30 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "region" {
  description = "Location of the repository (e.g. europe-west1); images are pushed to <region>-docker.pkg.dev."
  type        = string
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1 or us-central1."
  }
}

variable "repository_id" {
  description = "ID of the Docker repository (lowercase letters, digits and hyphens, starting with a letter, at most 63 characters)."
  type        = string
  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", var.repository_id))
    error_message = "repository_id must be 1-63 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "immutable_tags" {
  description = "Refuse to move a tag once pushed, so a deployed tag always names the same image."
  type        = bool
  default     = true
}

variable "untagged_retention_days" {
  description = "Delete untagged images older than this many days (0 keeps them forever)."
  type        = number
  default     = 30
  validation {
    condition     = var.untagged_retention_days >= 0 && floor(var.untagged_retention_days) == var.untagged_retention_days
    error_message = "untagged_retention_days must be a whole number of days, 0 or more."
  }
}

variable "reader_members" {
  description = "Principals that pull images, keyed by a fixed label (e.g. { gke_nodes = \"serviceAccount:nodes@p.iam.gserviceaccount.com\" }); each gets roles/artifactregistry.reader on this repository only."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for member in values(var.reader_members) : can(regex("^(serviceAccount|user|group|principal|principalSet):", member))])
    error_message = "reader_members values must be IAM members such as serviceAccount:<e-mail>, user:<e-mail> or group:<e-mail>."
  }
}

variable "labels" {
  description = "Labels put on the repository."
  type        = map(string)
  default     = {}
}
