variable "name" {
  description = "Name prefix of the key; the alias becomes alias/<name>-snapshots."
  type        = string
  validation {
    condition     = can(regex("^[a-zA-Z0-9/_-]{1,200}$", var.name)) && !startswith(var.name, "aws")
    error_message = "name must be 1-200 characters of letters, digits, '/', '_' and '-', and must not start with \"aws\" (reserved for AWS-managed aliases)."
  }
}

variable "description" {
  description = "Description of the key as shown in the KMS console."
  type        = string
  default     = "skyduck snapshot key: wraps the data keys of skyduck's encrypted snapshots"
}

variable "deletion_window_in_days" {
  description = "Days KMS waits before deleting the key once deletion is scheduled (7-30)."
  type        = number
  default     = 30
  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30 && floor(var.deletion_window_in_days) == var.deletion_window_in_days
    error_message = "deletion_window_in_days must be a whole number from 7 to 30."
  }
}

variable "rotation_period_in_days" {
  description = "Days between automatic rotations of the key material (90-2560)."
  type        = number
  default     = 365
  validation {
    condition     = var.rotation_period_in_days >= 90 && var.rotation_period_in_days <= 2560 && floor(var.rotation_period_in_days) == var.rotation_period_in_days
    error_message = "rotation_period_in_days must be a whole number from 90 to 2560."
  }
}

variable "tags" {
  description = "Tags put on the key (in addition to the provider's default_tags)."
  type        = map(string)
  default     = {}
}
