# A private, regional GKE cluster with Workload Identity, its node pool, and the skyduck workload
# (namespace, Kubernetes service account, deployment, ClusterIP service).

locals {
  workload_pool = "${var.project_id}.svc.id.goog"
  node_sa_id    = "${trimsuffix(substr(var.name, 0, 24), "-")}-nodes"
  app_labels = {
    "app.kubernetes.io/name"       = "skyduck"
    "app.kubernetes.io/managed-by" = "terraform"
  }
}

# Nodes run as their own service account with the minimum GKE needs (logs, metrics), not as the
# Compute Engine default account. Image pulls are granted on the Artifact Registry repository itself.
resource "google_service_account" "nodes" {
  project      = var.project_id
  account_id   = local.node_sa_id
  display_name = "GKE nodes of ${var.name}"
}

resource "google_project_iam_member" "nodes_default" {
  project = var.project_id
  role    = "roles/container.defaultNodeServiceAccount"
  member  = "serviceAccount:${google_service_account.nodes.email}"
}

resource "google_container_cluster" "this" {
  project  = var.project_id
  name     = var.name
  location = var.region

  network         = var.network_id
  subnetwork      = var.subnetwork_id
  networking_mode = "VPC_NATIVE"

  # The default pool is replaced by google_container_node_pool.primary.
  remove_default_node_pool = true
  initial_node_count       = 1

  deletion_protection   = var.deletion_protection
  enable_shielded_nodes = true
  datapath_provider     = "ADVANCED_DATAPATH"
  resource_labels       = var.labels

  ip_allocation_policy {
    cluster_secondary_range_name  = var.pods_range_name
    services_secondary_range_name = var.services_range_name
  }

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = var.enable_private_endpoint
    master_ipv4_cidr_block  = var.master_ipv4_cidr_block
  }

  dynamic "master_authorized_networks_config" {
    for_each = length(var.master_authorized_cidrs) > 0 ? [1] : []
    content {
      dynamic "cidr_blocks" {
        for_each = var.master_authorized_cidrs
        content {
          cidr_block   = cidr_blocks.value
          display_name = "authorized-${cidr_blocks.key}"
        }
      }
    }
  }

  workload_identity_config {
    workload_pool = local.workload_pool
  }

  release_channel {
    channel = var.release_channel
  }
}

resource "google_container_node_pool" "primary" {
  project            = var.project_id
  name               = "${var.name}-primary"
  location           = var.region
  cluster            = google_container_cluster.this.name
  initial_node_count = 1

  autoscaling {
    total_min_node_count = var.min_nodes
    total_max_node_count = max(var.min_nodes, var.max_nodes)
    location_policy      = "BALANCED"
  }

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  node_config {
    machine_type    = var.machine_type
    disk_size_gb    = var.disk_size_gb
    disk_type       = "pd-balanced"
    service_account = google_service_account.nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    labels          = var.labels

    # Pods see the GKE metadata server, which hands out the Workload Identity of their service account.
    workload_metadata_config {
      mode = "GKE_METADATA"
    }

    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }
  }

  lifecycle {
    ignore_changes = [initial_node_count]
  }

  depends_on = [google_project_iam_member.nodes_default]
}

resource "kubernetes_namespace_v1" "skyduck" {
  metadata {
    name   = var.namespace
    labels = local.app_labels
  }

  depends_on = [google_container_node_pool.primary]
}

resource "kubernetes_service_account_v1" "skyduck" {
  metadata {
    name      = var.kubernetes_service_account
    namespace = kubernetes_namespace_v1.skyduck.metadata[0].name
    labels    = local.app_labels
    annotations = {
      "iam.gke.io/gcp-service-account" = var.gcp_service_account_email
    }
  }
}

resource "kubernetes_deployment_v1" "skyduck" {
  metadata {
    name      = "skyduck"
    namespace = kubernetes_namespace_v1.skyduck.metadata[0].name
    labels    = local.app_labels
  }

  spec {
    replicas = var.replicas

    # One DuckDB database, one writer: stop the old pod before the new one starts.
    strategy {
      type = "Recreate"
    }

    selector {
      match_labels = local.app_labels
    }

    template {
      metadata {
        labels = local.app_labels
      }

      spec {
        service_account_name             = kubernetes_service_account_v1.skyduck.metadata[0].name
        termination_grace_period_seconds = 30

        container {
          name  = "skyduck"
          image = var.image
          args  = ["serve"]

          port {
            name           = "http"
            container_port = 8080
          }

          dynamic "env" {
            for_each = var.environment_variables
            content {
              name  = env.key
              value = env.value
            }
          }

          resources {
            requests = {
              cpu    = var.cpu
              memory = var.memory
            }
            limits = {
              cpu    = var.cpu
              memory = var.memory
            }
          }

          readiness_probe {
            http_get {
              path = "/v1/health"
              port = "http"
            }
            period_seconds = 10
          }

          liveness_probe {
            http_get {
              path = "/v1/health"
              port = "http"
            }
            initial_delay_seconds = 30
            period_seconds        = 20
          }

          security_context {
            allow_privilege_escalation = false
            capabilities {
              drop = ["ALL"]
            }
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
    labels    = local.app_labels
  }

  spec {
    type     = "ClusterIP"
    selector = local.app_labels

    port {
      name        = "http"
      port        = 8080
      target_port = "http"
      protocol    = "TCP"
    }
  }
}
