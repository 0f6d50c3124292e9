output "bastion_ip" {
  description = "Public address of the bastion (SSH jump host for Ansible and kubectl)."
  value       = openstack_networking_floatingip_v2.bastion.address
}

output "ingress_ip" {
  description = "Public address of the ingress controller: point the DNS names of the function, MinIO and MLflow URLs here."
  value       = openstack_networking_floatingip_v2.ingress.address
}

output "nodes" {
  description = "Private address and role of every cluster node."
  value = {
    for name, node in openstack_compute_instance_v2.node : name => {
      ip   = node.access_ip_v4
      role = local.nodes[name].role
    }
  }
}

output "data_volume_devices" {
  description = "Device path of each worker's data volume, as attached (used by the node-preparation playbook)."
  value       = { for name, attach in openstack_compute_volume_attach_v2.data : name => attach.device }
}

# `terraform output -raw ansible_inventory > ../ansible/inventory/hosts.yml`
output "ansible_inventory" {
  description = "Ansible inventory (YAML) with kubespray's groups, reaching the nodes through the bastion."
  value = templatefile("${path.module}/inventory.yml.tftpl", {
    bastion_ip   = openstack_networking_floatingip_v2.bastion.address
    ingress_ip   = openstack_networking_floatingip_v2.ingress.address
    ingress_node = local.workers[0]
    nodes = {
      for name, node in openstack_compute_instance_v2.node : name => {
        ip          = node.access_ip_v4
        role        = local.nodes[name].role
        data_device = try(openstack_compute_volume_attach_v2.data[name].device, "")
      }
    }
  })
}
