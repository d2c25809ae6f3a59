variable "name" {
  description = "Name of the EKS cluster; also the prefix of its IAM roles and node group."
  type        = string
  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,35}$", var.name))
    error_message = "name must be 1-36 characters of letters, digits and hyphens, starting with a letter (IAM role names add a suffix of up to 27 characters)."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane and node group, e.g. 1.31."
  type        = string
  default     = "1.31"
  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must be a Kubernetes minor version such as 1.31."
  }
}

variable "subnet_ids" {
  description = "Private subnets of the control plane's network interfaces and of the nodes, in at least two availability zones."
  type        = list(string)
  validation {
    condition     = length(var.subnet_ids) >= 2 && alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "subnet_ids must hold at least two subnet ids (subnet- followed by 8 or 17 hexadecimal digits), in different availability zones."
  }
}

variable "endpoint_public_access" {
  description = "Whether the Kubernetes API is also reachable from the Internet (from public_access_cidrs). The private endpoint is always on; leave this false when Terraform runs inside the VPC or over a VPN."
  type        = bool
  default     = false
}

variable "public_access_cidrs" {
  description = "IPv4 CIDR blocks allowed to reach the public Kubernetes API endpoint; required when endpoint_public_access is true."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for cidr in var.public_access_cidrs : can(cidrnetmask(cidr))])
    error_message = "public_access_cidrs must hold IPv4 CIDR blocks, e.g. 203.0.113.0/24."
  }
  validation {
    condition     = !contains(var.public_access_cidrs, "0.0.0.0/0")
    error_message = "public_access_cidrs must not contain 0.0.0.0/0: name the networks Terraform and operators connect from."
  }
}

variable "cluster_log_types" {
  description = "Control plane log types sent to CloudWatch Logs."
  type        = list(string)
  default     = ["api", "audit", "authenticator"]
  validation {
    condition     = alltrue([for t in var.cluster_log_types : contains(["api", "audit", "authenticator", "controllerManager", "scheduler"], t)])
    error_message = "cluster_log_types may only hold api, audit, authenticator, controllerManager and scheduler."
  }
}

variable "node_instance_types" {
  description = "EC2 instance types of the managed node group."
  type        = list(string)
  default     = ["t3.large"]
  validation {
    condition     = length(var.node_instance_types) >= 1 && alltrue([for t in var.node_instance_types : can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", t))])
    error_message = "node_instance_types must hold at least one EC2 instance type such as t3.large."
  }
}

variable "node_disk_size" {
  description = "Root volume size of each node, in GiB (at least 20)."
  type        = number
  default     = 50
  validation {
    condition     = var.node_disk_size >= 20 && floor(var.node_disk_size) == var.node_disk_size
    error_message = "node_disk_size must be a whole number of GiB, at least 20."
  }
}

variable "node_min_size" {
  description = "Minimum number of nodes in the node group."
  type        = number
  default     = 1
  validation {
    condition     = var.node_min_size >= 1 && floor(var.node_min_size) == var.node_min_size
    error_message = "node_min_size must be a whole number of at least 1."
  }
}

variable "node_desired_size" {
  description = "Number of nodes the node group starts with (between node_min_size and node_max_size)."
  type        = number
  default     = 2
  validation {
    condition     = var.node_desired_size >= 1 && floor(var.node_desired_size) == var.node_desired_size
    error_message = "node_desired_size must be a whole number of at least 1."
  }
}

variable "node_max_size" {
  description = "Maximum number of nodes in the node group."
  type        = number
  default     = 3
  validation {
    condition     = var.node_max_size >= 1 && floor(var.node_max_size) == var.node_max_size
    error_message = "node_max_size must be a whole number of at least 1."
  }
}

variable "namespace" {
  description = "Kubernetes namespace skyduck runs in."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS-1123 label: at most 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit."
  }
}

variable "service_account" {
  description = "Name of skyduck's Kubernetes service account (the subject the IRSA role trusts)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.service_account))
    error_message = "service_account must be a DNS-1123 subdomain: lowercase letters, digits, hyphens and dots, starting and ending with a letter or digit."
  }
}

variable "role_arn" {
  description = "ARN of the IRSA role skyduck's service account is annotated with (eks.amazonaws.com/role-arn); the iam module's role_arn."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::\\d{12}:role/.+$", var.role_arn))
    error_message = "role_arn must be an IAM role ARN, arn:aws:iam::<account>:role/<name>."
  }
}

variable "image" {
  description = "Container image of skyduck's AWS variant; the deployment runs it with the argument serve."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$", var.image))
    error_message = "image must be a registry path with a tag or a sha256 digest, e.g. ghcr.io/skyduck/skyduck-aws:0.1.0."
  }
}

variable "skyduck_environment" {
  description = "Environment of the skyduck container, in skyduck's own variable names (SKYDUCK_CLOUD, SKYDUCK_STORAGE_BUCKET, SKYDUCK_KMS_KEY, ...)."
  type        = map(string)
  validation {
    condition     = alltrue([for k in keys(var.skyduck_environment) : can(regex("^SKYDUCK_[A-Z0-9_]+$", k))])
    error_message = "skyduck_environment keys must be skyduck variable names, SKYDUCK_ followed by capital letters, digits and underscores."
  }
  validation {
    condition     = can(regex(":[0-9]+$", lookup(var.skyduck_environment, "SKYDUCK_LISTEN", ":8080")))
    error_message = "skyduck_environment.SKYDUCK_LISTEN must be host:port, e.g. 0.0.0.0:8080."
  }
}

variable "container_port" {
  description = "Port skyduck listens on inside the pod (the port of SKYDUCK_LISTEN); the service exposes the same port."
  type        = number
  default     = 8080
  validation {
    condition     = var.container_port >= 1 && var.container_port <= 65535 && floor(var.container_port) == var.container_port
    error_message = "container_port must be a whole number from 1 to 65535."
  }
}

variable "cpu_request" {
  description = "CPU request (and limit) of the skyduck container, as a Kubernetes quantity such as 500m or 2."
  type        = string
  default     = "500m"
  validation {
    condition     = can(regex("^[0-9]+(\\.[0-9]+)?m?$", var.cpu_request))
    error_message = "cpu_request must be a Kubernetes CPU quantity such as 500m or 2."
  }
}

variable "memory_request" {
  description = "Memory request (and limit) of the skyduck container, as a Kubernetes quantity such as 1Gi."
  type        = string
  default     = "1Gi"
  validation {
    condition     = can(regex("^[0-9]+(Ki|Mi|Gi|Ti)$", var.memory_request))
    error_message = "memory_request must be a Kubernetes memory quantity in Ki, Mi, Gi or Ti, such as 1Gi."
  }
}

variable "tags" {
  description = "Tags put on the cluster, node group and IAM roles (in addition to the provider's default_tags)."
  type        = map(string)
  default     = {}
}
