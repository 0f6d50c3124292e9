resource "openstack_compute_keypair_v2" "operator" {
  name       = "${var.name_prefix}-operator"
  public_key = var.ssh_public_key
}

locals {
  nodes = merge(
    { for i in range(var.control_plane_count) : "${var.name_prefix}-cp-${i}" => { role = "control_plane", flavor = var.control_plane_flavor } },
    { for i in range(var.worker_count) : "${var.name_prefix}-worker-${i}" => { role = "worker", flavor = var.worker_flavor } },
    { for i in range(var.gpu_worker_count) : "${var.name_prefix}-gpu-${i}" => { role = "gpu_worker", flavor = var.gpu_worker_flavor } },
  )
  workers = [for i in range(var.worker_count) : "${var.name_prefix}-worker-${i}"]
}

resource "openstack_networking_port_v2" "bastion" {
  name               = "${var.name_prefix}-bastion"
  network_id         = openstack_networking_network_v2.cluster.id
  security_group_ids = [openstack_networking_secgroup_v2.bastion.id]
  fixed_ip {
    subnet_id = openstack_networking_subnet_v2.cluster.id
  }
}

resource "openstack_networking_port_v2" "node" {
  for_each   = { for name, node in local.nodes : name => node if name != local.workers[0] }
  name       = each.key
  network_id = openstack_networking_network_v2.cluster.id
  # Calico routes pod traffic between nodes with the pod addresses as sources.
  allowed_address_pairs {
    ip_address = "10.233.0.0/16"
  }
  security_group_ids = [openstack_networking_secgroup_v2.nodes.id]
  fixed_ip {
    subnet_id = openstack_networking_subnet_v2.cluster.id
  }
}

# The first worker also carries the ingress controller, hence its own port with the ingress group.
resource "openstack_networking_port_v2" "worker" {
  count      = var.worker_count > 0 ? 1 : 0
  name       = local.workers[0]
  network_id = openstack_networking_network_v2.cluster.id
  allowed_address_pairs {
    ip_address = "10.233.0.0/16"
  }
  security_group_ids = [openstack_networking_secgroup_v2.nodes.id, openstack_networking_secgroup_v2.ingress.id]
  fixed_ip {
    subnet_id = openstack_networking_subnet_v2.cluster.id
  }
}

resource "openstack_compute_instance_v2" "bastion" {
  name        = "${var.name_prefix}-bastion"
  image_name  = var.image_name
  flavor_name = var.bastion_flavor
  key_pair    = openstack_compute_keypair_v2.operator.name
  network {
    port = openstack_networking_port_v2.bastion.id
  }
  metadata = { role = "bastion" }
}

resource "openstack_compute_instance_v2" "node" {
  for_each    = local.nodes
  name        = each.key
  image_name  = var.image_name
  flavor_name = each.value.flavor
  key_pair    = openstack_compute_keypair_v2.operator.name
  network {
    port = each.key == local.workers[0] ? openstack_networking_port_v2.worker[0].id : openstack_networking_port_v2.node[each.key].id
  }
  metadata = { role = each.value.role }
}
