variable "project_id" {
  description = "Google Cloud project that holds the instance."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be 6-30 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "region" {
  description = "Region of the instance (e.g. europe-west1)."
  type        = string
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1 or us-central1."
  }
}

variable "name" {
  description = "Name of the Cloud SQL instance (lowercase letters, digits and hyphens, starting with a letter, at most 84 characters)."
  type        = string
  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,82}[a-z0-9])?$", var.name))
    error_message = "name must be 1-84 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "network_id" {
  description = "Self link or ID of the VPC network the instance gets its private IP in; the network must already have private service access (google_service_networking_connection)."
  type        = string
  validation {
    condition     = can(regex("^(https://www.googleapis.com/compute/v1/)?projects/[^/]+/global/networks/[^/]+$", var.network_id))
    error_message = "network_id must be a network ID such as projects/<project>/global/networks/<network> (or its self link)."
  }
}

variable "database_version" {
  description = "PostgreSQL major version of the instance, e.g. POSTGRES_16."
  type        = string
  default     = "POSTGRES_16"
  validation {
    condition     = can(regex("^POSTGRES_[0-9]{2}$", var.database_version))
    error_message = "database_version must be a Cloud SQL PostgreSQL version such as POSTGRES_15 or POSTGRES_16."
  }
}

variable "tier" {
  description = "Machine tier of the instance (Enterprise edition), e.g. db-custom-1-3840 or db-g1-small."
  type        = string
  default     = "db-custom-1-3840"
  validation {
    condition     = can(regex("^db-", var.tier))
    error_message = "tier must be a Cloud SQL tier name starting with db-, e.g. db-custom-1-3840."
  }
}

variable "availability_type" {
  description = "ZONAL (one zone) or REGIONAL (a standby in a second zone, for production)."
  type        = string
  default     = "ZONAL"
  validation {
    condition     = contains(["ZONAL", "REGIONAL"], var.availability_type)
    error_message = "availability_type must be ZONAL or REGIONAL."
  }
}

variable "disk_size_gb" {
  description = "Initial disk size in GB (it grows automatically)."
  type        = number
  default     = 10
  validation {
    condition     = var.disk_size_gb >= 10 && floor(var.disk_size_gb) == var.disk_size_gb
    error_message = "disk_size_gb must be a whole number of at least 10."
  }
}

variable "backup_retention_count" {
  description = "How many daily backups Cloud SQL keeps."
  type        = number
  default     = 7
  validation {
    condition     = var.backup_retention_count >= 1 && var.backup_retention_count <= 365 && floor(var.backup_retention_count) == var.backup_retention_count
    error_message = "backup_retention_count must be a whole number from 1 to 365."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the instance (both in Terraform and in the Cloud SQL API); true for production."
  type        = bool
}

variable "database_name" {
  description = "Name of the control plane database."
  type        = string
  default     = "skyduck"
  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must be 1-63 characters of lowercase letters, digits and underscores, not starting with a digit."
  }
}

variable "user_name" {
  description = "Name of the database user skyduck's control plane logs in as."
  type        = string
  default     = "skyduck"
  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,62}$", var.user_name))
    error_message = "user_name must be 1-63 characters of lowercase letters, digits and underscores, not starting with a digit."
  }
}

variable "db_password" {
  description = "Password of the database user (from the secrets module)."
  type        = string
  sensitive   = true
  validation {
    condition     = length(var.db_password) >= 16
    error_message = "db_password must be at least 16 characters."
  }
}

variable "labels" {
  description = "User labels put on the instance."
  type        = map(string)
  default     = {}
}
