output "id" {
  description = "Resource id of the managed identity."
  value       = azurerm_user_assigned_identity.skyduck.id
}

output "client_id" {
  description = "Client id of the managed identity (AZURE_CLIENT_ID, the service account's azure.workload.identity/client-id)."
  value       = azurerm_user_assigned_identity.skyduck.client_id
}

output "principal_id" {
  description = "Object id of the managed identity's service principal."
  value       = azurerm_user_assigned_identity.skyduck.principal_id
}

output "federated_subject" {
  description = "The service account subject the identity trusts, system:serviceaccount:<namespace>:<name>."
  value       = azurerm_federated_identity_credential.skyduck.subject
}
