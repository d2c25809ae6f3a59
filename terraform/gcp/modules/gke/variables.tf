variable "project_id" {
  description = "Google Cloud project of the cluster (its Workload Identity pool is <project_id>.svc.id.goog)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be 6-30 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "region" {
  description = "Region of the (regional) cluster, e.g. europe-west1."
  type        = string
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1 or us-central1."
  }
}

variable "name" {
  description = "Name of the cluster; also the prefix of its node pool and node service account (lowercase letters, digits and hyphens, at most 40 characters)."
  type        = string
  validation {
    condition     = can(regex("^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$", var.name))
    error_message = "name must be 1-40 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "network_id" {
  description = "ID or self link of the VPC network the cluster runs in."
  type        = string
}

variable "subnetwork_id" {
  description = "ID or self link of the subnet the nodes get their addresses from; it must carry the pods and services secondary ranges."
  type        = string
}

variable "pods_range_name" {
  description = "Name of the subnet's secondary range for pod addresses."
  type        = string
}

variable "services_range_name" {
  description = "Name of the subnet's secondary range for service addresses."
  type        = string
}

variable "master_ipv4_cidr_block" {
  description = "The /28 range the control plane's private endpoint lives in; must not overlap the subnet, pods, services or any peered range."
  type        = string
  validation {
    condition     = can(cidrnetmask(var.master_ipv4_cidr_block)) && endswith(var.master_ipv4_cidr_block, "/28")
    error_message = "master_ipv4_cidr_block must be an IPv4 CIDR block of size /28, e.g. 172.16.0.0/28."
  }
}

variable "master_authorized_cidrs" {
  description = "CIDR blocks allowed to reach the control plane (where Terraform and kubectl run). Empty: no restriction beyond Google authentication."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for cidr in var.master_authorized_cidrs : can(cidrnetmask(cidr))])
    error_message = "Every master_authorized_cidrs entry must be an IPv4 CIDR block such as 203.0.113.0/24."
  }
}

variable "enable_private_endpoint" {
  description = "Serve the control plane on its private endpoint only; Terraform must then run inside the VPC (or a peered network) to manage the workload."
  type        = bool
  default     = false
}

variable "release_channel" {
  description = "GKE release channel: RAPID, REGULAR or STABLE."
  type        = string
  default     = "REGULAR"
  validation {
    condition     = contains(["RAPID", "REGULAR", "STABLE"], var.release_channel)
    error_message = "release_channel must be RAPID, REGULAR or STABLE."
  }
}

variable "machine_type" {
  description = "Machine type of the nodes."
  type        = string
  default     = "e2-standard-4"
}

variable "disk_size_gb" {
  description = "Boot disk size of each node in GB."
  type        = number
  default     = 50
  validation {
    condition     = var.disk_size_gb >= 20 && floor(var.disk_size_gb) == var.disk_size_gb
    error_message = "disk_size_gb must be a whole number of at least 20."
  }
}

variable "min_nodes" {
  description = "Fewest nodes in the node pool, across all zones."
  type        = number
  default     = 1
  validation {
    condition     = var.min_nodes >= 0 && floor(var.min_nodes) == var.min_nodes
    error_message = "min_nodes must be a whole number, 0 or more."
  }
}

variable "max_nodes" {
  description = "Most nodes in the node pool, across all zones (at least min_nodes)."
  type        = number
  default     = 3
  validation {
    condition     = var.max_nodes >= 1 && floor(var.max_nodes) == var.max_nodes
    error_message = "max_nodes must be a whole number, 1 or more."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the cluster from Terraform; true for production."
  type        = bool
}

variable "namespace" {
  description = "Kubernetes namespace skyduck runs in."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS label: 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "kubernetes_service_account" {
  description = "Name of the Kubernetes service account skyduck runs as; Workload Identity maps it to gcp_service_account_email."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.kubernetes_service_account))
    error_message = "kubernetes_service_account must be a DNS label: 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "gcp_service_account_email" {
  description = "E-mail of the Google service account the workload acts as (annotation iam.gke.io/gcp-service-account)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\\.iam\\.gserviceaccount\\.com$", var.gcp_service_account_email))
    error_message = "gcp_service_account_email must be a service account e-mail: <id>@<project>.iam.gserviceaccount.com."
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

variable "replicas" {
  description = "Pods of the deployment. skyduck writes snapshots of one DuckDB database, so keep 1 unless the build supports several writers."
  type        = number
  default     = 1
  validation {
    condition     = var.replicas >= 0 && floor(var.replicas) == var.replicas
    error_message = "replicas must be a whole number, 0 or more."
  }
}

variable "cpu" {
  description = "CPU request and limit of the skyduck container (Kubernetes quantity, e.g. 1 or 500m)."
  type        = string
  default     = "1"
  validation {
    condition     = can(regex("^[0-9]+(\\.[0-9]+)?m?$", var.cpu))
    error_message = "cpu must be a Kubernetes CPU quantity such as 1, 1.5 or 500m."
  }
}

variable "memory" {
  description = "Memory request and limit of the skyduck container (Kubernetes quantity, e.g. 2Gi)."
  type        = string
  default     = "2Gi"
  validation {
    condition     = can(regex("^[0-9]+(Ki|Mi|Gi|Ti)$", var.memory))
    error_message = "memory must be a Kubernetes memory quantity such as 512Mi or 2Gi."
  }
}

variable "labels" {
  description = "Labels put on the cluster and its nodes."
  type        = map(string)
  default     = {}
}
