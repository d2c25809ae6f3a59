variable "name" {
  description = "Name of the AKS cluster (also its DNS prefix)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,52}[a-z0-9]$", var.name))
    error_message = "name must be 3-54 characters of lowercase letters, digits and hyphens, starting with a letter and ending with a letter or digit."
  }
}

variable "location" {
  description = "Azure region, as its lowercase programmatic name (e.g. westeurope)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]+$", var.location))
    error_message = "location must be the region's programmatic name: lowercase letters and digits only (e.g. westeurope, not \"West Europe\")."
  }
}

variable "resource_group_name" {
  description = "Resource group the cluster is created in."
  type        = string
}

variable "subnet_id" {
  description = "Resource id of the AKS subnet the nodes (and Azure CNI pods) live in."
  type        = string
}

variable "kubernetes_version" {
  description = "Kubernetes version (e.g. 1.31), or null for the region's default."
  type        = string
  default     = null
  nullable    = true
  validation {
    condition     = var.kubernetes_version == null || can(regex("^[0-9]+\\.[0-9]+(\\.[0-9]+)?$", var.kubernetes_version))
    error_message = "kubernetes_version must be null or a version like 1.31 or 1.31.2."
  }
}

variable "sku_tier" {
  description = "AKS control plane tier: Free, Standard (uptime SLA) or Premium."
  type        = string
  default     = "Standard"
  validation {
    condition     = contains(["Free", "Standard", "Premium"], var.sku_tier)
    error_message = "sku_tier must be Free, Standard or Premium."
  }
}

variable "node_vm_size" {
  description = "VM size of the default node pool."
  type        = string
  default     = "Standard_D4s_v5"
}

variable "node_count" {
  description = "Number of nodes in the default node pool."
  type        = number
  default     = 2
  validation {
    condition     = var.node_count >= 1 && var.node_count <= 100 && floor(var.node_count) == var.node_count
    error_message = "node_count must be a whole number from 1 to 100."
  }
}

variable "service_cidr" {
  description = "CIDR Kubernetes services get their addresses from; must not overlap the VNet or any peered network."
  type        = string
  default     = "10.240.0.0/16"
  validation {
    condition     = can(cidrnetmask(var.service_cidr))
    error_message = "service_cidr must be an IPv4 CIDR block, e.g. 10.240.0.0/16."
  }
}

variable "dns_service_ip" {
  description = "Address of the cluster DNS service, inside service_cidr (conventionally its .10)."
  type        = string
  default     = "10.240.0.10"
  validation {
    condition     = can(cidrhost("${var.dns_service_ip}/32", 0))
    error_message = "dns_service_ip must be an IPv4 address inside service_cidr, e.g. 10.240.0.10."
  }
}

variable "namespace" {
  description = "Kubernetes namespace skyduck runs in."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS label: 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "service_account_name" {
  description = "Name of skyduck's Kubernetes service account (the federated credential's subject names it)."
  type        = string
  default     = "skyduck"
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.service_account_name))
    error_message = "service_account_name must be 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "image" {
  description = "Container image of skyduck-azure (tag or sha256 digest); the deployment runs it with `serve`."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$", var.image))
    error_message = "image must be a registry path with a tag or a sha256 digest, e.g. ghcr.io/skyduck/skyduck-azure:0.1.0."
  }
}

variable "workload_client_id" {
  description = "Client id of the managed identity skyduck runs as (service account annotation and AZURE_CLIENT_ID); an input, so the identity can trust this cluster's OIDC issuer without a cycle."
  type        = string
  validation {
    condition     = can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", var.workload_client_id))
    error_message = "workload_client_id must be the managed identity's client id (a GUID)."
  }
}

variable "skyduck_environment" {
  description = "skyduck's SKYDUCK_* settings for the container; AZURE_CLIENT_ID is added from workload_client_id."
  type        = map(string)
  validation {
    condition = alltrue([
      for key in ["SKYDUCK_CLOUD", "SKYDUCK_STORAGE_BUCKET", "SKYDUCK_KMS_KEY", "SKYDUCK_IDENTITY", "SKYDUCK_LISTEN", "SKYDUCK_SNAPSHOT_INTERVAL"] :
      contains(keys(var.skyduck_environment), key)
    ])
    error_message = "skyduck_environment must set SKYDUCK_CLOUD, SKYDUCK_STORAGE_BUCKET, SKYDUCK_KMS_KEY, SKYDUCK_IDENTITY, SKYDUCK_LISTEN and SKYDUCK_SNAPSHOT_INTERVAL."
  }
  validation {
    condition     = alltrue([for key in keys(var.skyduck_environment) : startswith(key, "SKYDUCK_")])
    error_message = "skyduck_environment holds SKYDUCK_* variables only."
  }
  validation {
    condition     = lookup(var.skyduck_environment, "SKYDUCK_LISTEN", "0.0.0.0:8080") == "0.0.0.0:8080"
    error_message = "SKYDUCK_LISTEN must be 0.0.0.0:8080: the container port and the service target 8080."
  }
}

variable "cpu_request" {
  description = "CPU the skyduck container requests (Kubernetes quantity, e.g. 500m)."
  type        = string
  default     = "500m"
}

variable "memory_request" {
  description = "Memory the skyduck container requests and is limited to (Kubernetes quantity, e.g. 2Gi)."
  type        = string
  default     = "2Gi"
}

variable "data_volume_size" {
  description = "Size limit of the emptyDir that holds skyduck's DuckDB database file (Kubernetes quantity)."
  type        = string
  default     = "20Gi"
}

variable "tags" {
  description = "Tags put on the cluster."
  type        = map(string)
  default     = {}
}
