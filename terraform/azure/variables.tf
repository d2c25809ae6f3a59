# Azure-only variables. The variables every cloud shares (name, environment, image, snapshot_interval,
# labels) come from ../shared/variables.tf through the shared_variables.tf symlink.

variable "location" {
  description = "Azure region, as its lowercase programmatic name (e.g. westeurope)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]+$", var.location))
    error_message = "location must be the region's programmatic name: lowercase letters and digits only (e.g. westeurope, not \"West Europe\")."
  }
}

variable "vnet_address_space" {
  description = "Address space of the skyduck virtual network (one or more CIDR blocks); must not overlap a peered hub."
  type        = list(string)
  validation {
    condition     = length(var.vnet_address_space) > 0 && alltrue([for cidr in var.vnet_address_space : can(cidrnetmask(cidr))])
    error_message = "vnet_address_space must hold at least one IPv4 CIDR block, e.g. [\"10.40.0.0/16\"]."
  }
}

variable "aks_subnet_prefix" {
  description = "CIDR of the AKS subnet, inside vnet_address_space; Azure CNI gives pods addresses from it too, so make it large (e.g. /20)."
  type        = string
  validation {
    condition     = can(cidrnetmask(var.aks_subnet_prefix))
    error_message = "aks_subnet_prefix must be an IPv4 CIDR block inside vnet_address_space, e.g. 10.40.0.0/20."
  }
}

variable "private_endpoint_subnet_prefix" {
  description = "CIDR of the private endpoint subnet, inside vnet_address_space and apart from aks_subnet_prefix (e.g. a /24)."
  type        = string
  validation {
    condition     = can(cidrnetmask(var.private_endpoint_subnet_prefix))
    error_message = "private_endpoint_subnet_prefix must be an IPv4 CIDR block inside vnet_address_space, e.g. 10.40.16.0/24."
  }
}

variable "hub_vnet_id" {
  description = "Resource id of a hub virtual network to peer with, or null for none."
  type        = string
  default     = null
  nullable    = true
  validation {
    condition     = var.hub_vnet_id == null || can(regex("(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.Network/virtualNetworks/[^/]+$", var.hub_vnet_id))
    error_message = "hub_vnet_id must be null or a virtual network resource id: /subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<name>."
  }
}

variable "namespace" {
  description = "Kubernetes namespace skyduck runs in."
  type        = string
  default     = "skyduck"
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS label: 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "kubernetes_version" {
  description = "AKS Kubernetes version (e.g. 1.31), or null for the region's default."
  type        = string
  default     = null
  nullable    = true
  validation {
    condition     = var.kubernetes_version == null || can(regex("^[0-9]+\\.[0-9]+(\\.[0-9]+)?$", var.kubernetes_version))
    error_message = "kubernetes_version must be null or a version like 1.31 or 1.31.2."
  }
}

variable "node_vm_size" {
  description = "VM size of the AKS default node pool."
  type        = string
  default     = "Standard_D4s_v5"
}

variable "node_count" {
  description = "Number of nodes in the AKS default node pool."
  type        = number
  default     = 2
  validation {
    condition     = var.node_count >= 1 && var.node_count <= 100 && floor(var.node_count) == var.node_count
    error_message = "node_count must be a whole number from 1 to 100."
  }
}
