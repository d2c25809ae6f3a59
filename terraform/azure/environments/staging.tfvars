name        = "skyduck"
environment = "staging"
image       = "ghcr.io/skyduck/skyduck-azure:0.1.0"

location                       = "westeurope"
vnet_address_space             = ["10.41.0.0/16"]
aks_subnet_prefix              = "10.41.0.0/20"
private_endpoint_subnet_prefix = "10.41.16.0/24"
hub_vnet_id                    = null

namespace         = "skyduck"
snapshot_interval = "15m"
node_count        = 2
labels = {
  cost-center = "skyduck-staging"
}
