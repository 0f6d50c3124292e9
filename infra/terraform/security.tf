# Only what is needed is open:
#   bastion  <- 22/tcp from admin_cidrs (operators; Ansible and kubectl go through it)
#   ingress  <- 443/tcp from public_cidrs, 80/tcp from public_cidrs (ACME HTTP-01 and redirect)
#   nodes    <- everything from other cluster nodes (Kubernetes, CNI, etcd), 22/tcp from the bastion
# The Kubernetes API (6443) is not public: operators reach it through an SSH tunnel.

resource "openstack_networking_secgroup_v2" "bastion" {
  name                 = "${var.name_prefix}-bastion"
  description          = "SSH from the operators' networks only"
  delete_default_rules = true
}

resource "openstack_networking_secgroup_rule_v2" "bastion_ssh" {
  for_each          = toset(var.admin_cidrs)
  security_group_id = openstack_networking_secgroup_v2.bastion.id
  direction         = "ingress"
  ethertype         = "IPv4"
  protocol          = "tcp"
  port_range_min    = 22
  port_range_max    = 22
  remote_ip_prefix  = each.value
}

resource "openstack_networking_secgroup_rule_v2" "bastion_egress" {
  security_group_id = openstack_networking_secgroup_v2.bastion.id
  direction         = "egress"
  ethertype         = "IPv4"
  remote_ip_prefix  = var.subnet_cidr
}

resource "openstack_networking_secgroup_v2" "nodes" {
  name                 = "${var.name_prefix}-nodes"
  description          = "Cluster-internal traffic, SSH from the bastion, egress for packages and images"
  delete_default_rules = true
}

resource "openstack_networking_secgroup_rule_v2" "nodes_internal" {
  security_group_id = openstack_networking_secgroup_v2.nodes.id
  direction         = "ingress"
  ethertype         = "IPv4"
  remote_group_id   = openstack_networking_secgroup_v2.nodes.id
}

resource "openstack_networking_secgroup_rule_v2" "nodes_ssh_from_bastion" {
  security_group_id = openstack_networking_secgroup_v2.nodes.id
  direction         = "ingress"
  ethertype         = "IPv4"
  protocol          = "tcp"
  port_range_min    = 22
  port_range_max    = 22
  remote_group_id   = openstack_networking_secgroup_v2.bastion.id
}

resource "openstack_networking_secgroup_rule_v2" "nodes_egress" {
  security_group_id = openstack_networking_secgroup_v2.nodes.id
  direction         = "egress"
  ethertype         = "IPv4"
  remote_ip_prefix  = "0.0.0.0/0"
}

resource "openstack_networking_secgroup_v2" "ingress" {
  name                 = "${var.name_prefix}-ingress"
  description          = "HTTPS (and HTTP for ACME) to the ingress controller"
  delete_default_rules = true
}

resource "openstack_networking_secgroup_rule_v2" "ingress_http" {
  for_each          = { for pair in setproduct(var.public_cidrs, [80, 443]) : "${pair[0]}-${pair[1]}" => pair }
  security_group_id = openstack_networking_secgroup_v2.ingress.id
  direction         = "ingress"
  ethertype         = "IPv4"
  protocol          = "tcp"
  port_range_min    = each.value[1]
  port_range_max    = each.value[1]
  remote_ip_prefix  = each.value[0]
}
