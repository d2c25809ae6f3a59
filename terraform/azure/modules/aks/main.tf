# The private AKS cluster (OIDC issuer and workload identity on) in the AKS subnet, and the skyduck
# workload on it: namespace, workload-identity service account, deployment running `serve`, ClusterIP
# service on 8080.

locals {
  port = 8080

  data_dir     = lookup(var.skyduck_environment, "SKYDUCK_DATA_DIR", "/var/lib/skyduck")
  native_cache = lookup(var.skyduck_environment, "SKYDUCK_NATIVE_CACHE", "/var/cache/skyduck/native")

  environment = merge(
    {
      SKYDUCK_DATA_DIR     = local.data_dir
      SKYDUCK_NATIVE_CACHE = local.native_cache
    },
    var.skyduck_environment,
    { AZURE_CLIENT_ID = var.workload_client_id },
  )

  selector = {
    "app.kubernetes.io/name"     = "skyduck"
    "app.kubernetes.io/instance" = var.name
  }

  labels = merge(local.selector, {
    "app.kubernetes.io/component"  = "server"
    "app.kubernetes.io/managed-by" = "terraform"
  })
}

# --- Cluster -----------------------------------------------------------------------------------------

resource "azurerm_kubernetes_cluster" "this" {
  name                = var.name
  location            = var.location
  resource_group_name = var.resource_group_name
  dns_prefix          = var.name
  kubernetes_version  = var.kubernetes_version
  sku_tier            = var.sku_tier

  private_cluster_enabled   = true
  private_dns_zone_id       = "System"
  oidc_issuer_enabled       = true
  workload_identity_enabled = true

  role_based_access_control_enabled = true
  azure_policy_enabled              = true
  automatic_upgrade_channel         = "patch"
  node_os_upgrade_channel           = "NodeImage"

  tags = var.tags

  default_node_pool {
    name                         = "system"
    vm_size                      = var.node_vm_size
    node_count                   = var.node_count
    vnet_subnet_id               = var.subnet_id
    os_sku                       = "AzureLinux"
    only_critical_addons_enabled = false
    tags                         = var.tags

    upgrade_settings {
      max_surge = "33%"
    }
  }

  identity {
    type = "SystemAssigned"
  }

  network_profile {
    network_plugin    = "azure"
    network_policy    = "azure"
    load_balancer_sku = "standard"
    outbound_type     = "loadBalancer"
    service_cidr      = var.service_cidr
    dns_service_ip    = var.dns_service_ip
  }
}

# The cluster's identity manages load balancer frontends and NICs in its own subnet only.
resource "azurerm_role_assignment" "cluster_subnet" {
  scope                = var.subnet_id
  role_definition_name = "Network Contributor"
  principal_id         = azurerm_kubernetes_cluster.this.identity[0].principal_id
  principal_type       = "ServicePrincipal"
}

# --- skyduck workload --------------------------------------------------------------------------------

resource "kubernetes_namespace_v1" "skyduck" {
  metadata {
    name = var.namespace
    labels = {
      "pod-security.kubernetes.io/enforce" = "restricted"
      "pod-security.kubernetes.io/warn"    = "restricted"
    }
  }

  depends_on = [azurerm_role_assignment.cluster_subnet]
}

resource "kubernetes_service_account_v1" "skyduck" {
  metadata {
    name      = var.service_account_name
    namespace = kubernetes_namespace_v1.skyduck.metadata[0].name
    labels    = local.labels
    annotations = {
      "azure.workload.identity/client-id" = var.workload_client_id
    }
  }
}

resource "kubernetes_deployment_v1" "skyduck" {
  metadata {
    name      = "skyduck"
    namespace = kubernetes_namespace_v1.skyduck.metadata[0].name
    labels    = local.labels
  }

  spec {
    # One writer per bucket: each replica would hold its own DuckDB file and snapshot over the others.
    replicas = 1

    strategy {
      type = "Recreate"
    }

    selector {
      match_labels = local.selector
    }

    template {
      metadata {
        labels = merge(local.labels, {
          "azure.workload.identity/use" = "true"
        })
      }

      spec {
        service_account_name             = kubernetes_service_account_v1.skyduck.metadata[0].name
        automount_service_account_token  = false
        termination_grace_period_seconds = 30

        security_context {
          run_as_non_root = true
          run_as_user     = 65532
          run_as_group    = 65532
          fs_group        = 65532

          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        container {
          name              = "skyduck"
          image             = var.image
          image_pull_policy = "IfNotPresent"
          args              = ["serve"]

          dynamic "env" {
            for_each = local.environment
            content {
              name  = env.key
              value = env.value
            }
          }

          port {
            name           = "http"
            container_port = local.port
            protocol       = "TCP"
          }

          readiness_probe {
            http_get {
              path = "/v1/health"
              port = "http"
            }
            period_seconds    = 10
            failure_threshold = 3
          }

          liveness_probe {
            http_get {
              path = "/v1/health"
              port = "http"
            }
            initial_delay_seconds = 15
            period_seconds        = 20
            failure_threshold     = 3
          }

          resources {
            requests = {
              cpu    = var.cpu_request
              memory = var.memory_request
            }
            limits = {
              memory = var.memory_request
            }
          }

          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            capabilities {
              drop = ["ALL"]
            }
          }

          volume_mount {
            name       = "data"
            mount_path = local.data_dir
          }

          # DuckDB's native library is extracted here and loaded: an emptyDir is not mounted noexec.
          volume_mount {
            name       = "native-cache"
            mount_path = local.native_cache
          }

          volume_mount {
            name       = "tmp"
            mount_path = "/tmp"
          }
        }

        volume {
          name = "data"
          empty_dir {
            size_limit = var.data_volume_size
          }
        }

        volume {
          name = "native-cache"
          empty_dir {
            size_limit = "512Mi"
          }
        }

        volume {
          name = "tmp"
          empty_dir {
            size_limit = "1Gi"
          }
        }
      }
    }
  }
}

resource "kubernetes_service_v1" "skyduck" {
  metadata {
    name      = "skyduck"
    namespace = kubernetes_namespace_v1.skyduck.metadata[0].name
    labels    = local.labels
  }

  spec {
    type     = "ClusterIP"
    selector = local.selector

    port {
      name        = "http"
      port        = local.port
      target_port = "http"
      protocol    = "TCP"
    }
  }
}
