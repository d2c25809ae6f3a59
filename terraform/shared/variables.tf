# Variables every cloud root declares. Each root links this file in as shared_variables.tf
# (a symlink), so the definitions and their validations are written once.

variable "name" {
  description = "Name prefix of every resource (lowercase letters, digits and hyphens, 3-20 characters, starting with a letter)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,19}$", var.name))
    error_message = "name must be 3-20 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Deployment environment: dev, staging or production."
  type        = string
  validation {
    condition     = contains(["dev", "staging", "production"], var.environment)
    error_message = "environment must be one of dev, staging, production."
  }
}

variable "image" {
  description = "Container image of the cloud's skyduck variant, pinned by digest or tag (e.g. ghcr.io/skyduck/skyduck-aws:0.1.0)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$", var.image))
    error_message = "image must be a registry path with a tag or a sha256 digest, e.g. ghcr.io/skyduck/skyduck-gcp:0.1.0."
  }
}

variable "snapshot_interval" {
  description = "How often skyduck writes an encrypted snapshot (SKYDUCK_SNAPSHOT_INTERVAL), e.g. 15m or 1h."
  type        = string
  default     = "15m"
  validation {
    condition     = can(regex("^[0-9]+(s|m|h)$", var.snapshot_interval))
    error_message = "snapshot_interval must be a number followed by s, m or h, e.g. 15m."
  }
}

variable "labels" {
  description = "Extra labels or tags put on every resource that takes them."
  type        = map(string)
  default     = {}
}
