variable "bucket_name" {
  description = "Name of the snapshot bucket; globally unique across AWS."
  type        = string
  validation {
    condition     = length(var.bucket_name) >= 3 && length(var.bucket_name) <= 63 && can(regex("^[a-z0-9][a-z0-9.-]*[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be 3-63 characters of lowercase letters, digits, dots and hyphens, beginning and ending with a letter or digit."
  }
  validation {
    condition     = !strcontains(var.bucket_name, "..") && !can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", var.bucket_name)) && !startswith(var.bucket_name, "xn--") && !endswith(var.bucket_name, "-s3alias")
    error_message = "bucket_name must not contain two adjacent dots, look like an IP address, start with \"xn--\" or end with \"-s3alias\"."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the bucket's objects (SSE-KMS)."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-\\d:\\d{12}:key/[0-9a-f-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN, arn:aws:kms:<region>:<account>:key/<key id>."
  }
}

variable "force_destroy" {
  description = "Whether terraform destroy may delete the bucket while it still holds snapshots. Keep false outside throwaway environments."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days a snapshot object is kept after a newer version replaces it or it is deleted (at least 1)."
  type        = number
  default     = 30
  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of at least 1."
  }
}

variable "tags" {
  description = "Tags put on the bucket (in addition to the provider's default_tags)."
  type        = map(string)
  default     = {}
}
