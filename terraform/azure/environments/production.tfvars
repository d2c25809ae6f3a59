name        = "skyduck"
environment = "production"
image       = "ghcr.io/skyduck/skyduck-azure:0.1.0"

location                       = "westeurope"
vnet_address_space             = ["10.42.0.0/16"]
aks_subnet_prefix              = "10.42.0.0/20"
private_endpoint_subnet_prefix = "10.42.16.0/24"
# Peer with the hub the deployers and operators reach the private endpoints from, e.g.
# "/subscriptions/<id>/resourceGroups/<hub-rg>/providers/Microsoft.Network/virtualNetworks/<hub-vnet>".
hub_vnet_id = null

namespace         = "skyduck"
snapshot_interval = "15m"
node_count        = 3
labels = {
  cost-center = "skyduck-production"
}
