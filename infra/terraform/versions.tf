terraform {
  required_version = ">= 1.6"
  required_providers {
    openstack = {
      source  = "terraform-provider-openstack/openstack"
      version = "~> 3.0"
    }
  }
}

# Credentials come from the environment (OS_CLOUD with clouds.yaml, or OS_AUTH_URL,
# OS_APPLICATION_CREDENTIAL_ID, OS_APPLICATION_CREDENTIAL_SECRET, ...): nothing here.
provider "openstack" {
  cloud = var.os_cloud
}
