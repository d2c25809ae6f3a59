name        = "skyduck"
environment = "dev"
image       = "ghcr.io/skyduck/skyduck-azure:0.1.0"

location                       = "westeurope"
vnet_address_space             = ["10.40.0.0/16"]
aks_subnet_prefix              = "10.40.0.0/20"
private_endpoint_subnet_prefix = "10.40.16.0/24"
hub_vnet_id                    = null

namespace         = "skyduck"
snapshot_interval = "1h"
node_count        = 1
labels = {
  cost-center = "skyduck-dev"
}
