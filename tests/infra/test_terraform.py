"""Terraform: the Ansible inventory template renders to what kubespray and the playbooks expect
(rendered by terraform itself, which needs no provider for that), and every variable and output
says what it is for."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

TERRAFORM = Path(__file__).resolve().parents[2] / "infra" / "terraform"

pytestmark = pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")

# `terraform console` reads one expression per line.
NODES = ("{ llara-cp-0 = { ip = \"192.168.50.10\", role = \"control_plane\", data_device = \"\" }, "
         "llara-worker-0 = { ip = \"192.168.50.11\", role = \"worker\", data_device = \"/dev/vdb\" }, "
         "llara-worker-1 = { ip = \"192.168.50.12\", role = \"worker\", data_device = \"/dev/vdb\" }, "
         "llara-gpu-0 = { ip = \"192.168.50.13\", role = \"gpu_worker\", data_device = \"\" } }")


def test_inventory_template_renders_kubespray_groups(tmp_path):
    shutil.copy(TERRAFORM / "inventory.yml.tftpl", tmp_path)
    expression = (f'templatefile("inventory.yml.tftpl", {{ bastion_ip = "203.0.113.5", '
                  f'ingress_ip = "203.0.113.6", ingress_node = "llara-worker-0", nodes = {NODES} }})')
    out = subprocess.run(["terraform", "console"], input=expression, cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    text = re.sub(r"^<<EOT\n|\nEOT\s*$", "", out.stdout.strip())
    inventory = yaml.safe_load(text)["all"]
    assert "ProxyJump=ubuntu@203.0.113.5" in inventory["vars"]["ansible_ssh_common_args"]
    groups = inventory["children"]
    assert set(groups["kube_control_plane"]["hosts"]) == {"llara-cp-0"}
    assert set(groups["kube_node"]["hosts"]) == {"llara-worker-0", "llara-worker-1", "llara-gpu-0"}
    assert groups["etcd"]["children"] == {"kube_control_plane": {}}
    assert set(groups["k8s_cluster"]["children"]) == {"kube_control_plane", "kube_node"}
    nodes = groups["kube_node"]["hosts"]
    assert nodes["llara-gpu-0"]["node_labels"] == {"llara.io/gpu": "true"}
    assert nodes["llara-gpu-0"]["node_taints"] == ["nvidia.com/gpu=true:NoSchedule"]
    assert nodes["llara-worker-0"]["node_labels"] == {"llara.io/ingress": "true"}
    assert nodes["llara-worker-1"]["llara_data_device"] == "/dev/vdb"
    assert "node_labels" not in nodes["llara-worker-1"]


def test_every_variable_and_output_has_a_description():
    for path in TERRAFORM.glob("*.tf"):
        text = path.read_text()
        for kind in ("variable", "output"):
            for name, body in re.findall(rf'^{kind} "([^"]+)" \{{(.*?)^\}}', text, re.M | re.S):
                assert re.search(r'^\s+description\s+=\s+"\S', body, re.M), f"{kind} {name}"


def test_ssh_is_never_open_to_the_world():
    security = (TERRAFORM / "security.tf").read_text()
    ssh_rules = re.findall(r'resource "openstack_networking_secgroup_rule_v2" "(\w+)" \{(.*?)^\}',
                           security, re.M | re.S)
    for name, body in ssh_rules:
        if "port_range_min    = 22" in body:
            assert "0.0.0.0/0" not in body, name
    # The Kubernetes API is reached through the bastion only.
    assert not re.search(r"port_range_(min|max)\s+=\s+6443", security)
