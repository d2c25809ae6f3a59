variable "project_id" {
  description = "Google Cloud project that holds the key ring."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be 6-30 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "region" {
  description = "Location of the key ring; use the bucket's region so the key and the data stay together (e.g. europe-west1)."
  type        = string
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1 or us-central1."
  }
}

variable "name" {
  description = "Name prefix of the key ring and the key (lowercase letters, digits and hyphens)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.name))
    error_message = "name must be 3-41 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "rotation_period" {
  description = "How often Cloud KMS makes a new primary key version, in seconds with an s suffix (7776000s = 90 days)."
  type        = string
  default     = "7776000s"
  validation {
    condition     = can(regex("^[0-9]+s$", var.rotation_period)) && try(tonumber(trimsuffix(var.rotation_period, "s")) >= 86400, false)
    error_message = "rotation_period must be a whole number of seconds with an s suffix, at least 86400s (one day), e.g. 7776000s."
  }
}

variable "protection_level" {
  description = "Where key material lives: SOFTWARE or HSM."
  type        = string
  default     = "SOFTWARE"
  validation {
    condition     = contains(["SOFTWARE", "HSM"], var.protection_level)
    error_message = "protection_level must be SOFTWARE or HSM."
  }
}

variable "labels" {
  description = "Labels put on the crypto key."
  type        = map(string)
  default     = {}
}
