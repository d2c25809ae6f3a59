variable "name" {
  description = "Name prefix of the role and policy; the role becomes <name>-skyduck-workload."
  type        = string
  validation {
    condition     = can(regex("^[a-zA-Z0-9+=,.@_-]{1,47}$", var.name))
    error_message = "name must be 1-47 characters of letters, digits and +=,.@_- (IAM role names are at most 64 characters including the \"-skyduck-workload\" suffix)."
  }
}

variable "oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider (aws_iam_openid_connect_provider)."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::\\d{12}:oidc-provider/.+$", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be an IAM OIDC provider ARN, arn:aws:iam::<account>:oidc-provider/<issuer host and path>."
  }
}

variable "oidc_issuer_url" {
  description = "Issuer URL of the EKS cluster's OIDC provider, with or without the https:// scheme."
  type        = string
  validation {
    condition     = can(regex("^(https://)?[a-z0-9.-]+(/[A-Za-z0-9._-]+)*$", var.oidc_issuer_url))
    error_message = "oidc_issuer_url must be the cluster's OIDC issuer, e.g. https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE."
  }
}

variable "namespace" {
  description = "Kubernetes namespace of skyduck's service account; only this namespace may assume the role."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS-1123 label: at most 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "service_account" {
  description = "Name of skyduck's Kubernetes service account; only this service account may assume the role."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.service_account))
    error_message = "service_account must be a DNS-1123 subdomain: lowercase letters, digits, hyphens and dots, starting and ending with a letter or digit."
  }
}

variable "bucket_arn" {
  description = "ARN of the snapshot bucket the role may list and read, write and delete objects in."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_arn))
    error_message = "bucket_arn must be an S3 bucket ARN, arn:aws:s3:::<bucket>, without an object path."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key the role may encrypt, decrypt and generate data keys with."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z]{2}(-[a-z]+)+-\\d:\\d{12}:key/[0-9a-f-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN, arn:aws:kms:<region>:<account>:key/<key id> (not an alias)."
  }
}

variable "tags" {
  description = "Tags put on the role and policy (in addition to the provider's default_tags)."
  type        = map(string)
  default     = {}
}
