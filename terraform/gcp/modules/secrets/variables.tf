variable "project_id" {
  description = "Google Cloud project that holds the secret."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be 6-30 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "region" {
  description = "The one region the secret's payload is replicated to (keeps it next to the database)."
  type        = string
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1 or us-central1."
  }
}

variable "name" {
  description = "Name prefix of the secret; the secret is <name>-db-password."
  type        = string
  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,243}$", var.name))
    error_message = "name must be 1-243 characters of letters, digits, hyphens and underscores."
  }
}

variable "password_length" {
  description = "Length of the generated control plane database password."
  type        = number
  default     = 32
  validation {
    condition     = var.password_length >= 16 && var.password_length <= 128 && floor(var.password_length) == var.password_length
    error_message = "password_length must be a whole number from 16 to 128."
  }
}

variable "accessor_members" {
  description = "Principals that read the password, keyed by a fixed label (e.g. { skyduck = \"serviceAccount:<e-mail>\" }); each gets roles/secretmanager.secretAccessor on this secret only."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for member in values(var.accessor_members) : can(regex("^(serviceAccount|user|group|principal|principalSet):", member))])
    error_message = "accessor_members values must be IAM members such as serviceAccount:<e-mail>, user:<e-mail> or group:<e-mail>."
  }
}

variable "labels" {
  description = "Labels put on the secret."
  type        = map(string)
  default     = {}
}
