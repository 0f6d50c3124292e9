#!/usr/bin/env bash
# Static checks of everything under infra/ and openwhisk/, offline (PyPI only, for the linters'
# own virtualenv). `make lint-infra` runs this; so does tests/infra/test_lint_infra.py.
#
#   bash scripts/lint_infra.sh              # all checks; exit status 1 if any failed
#   LLARA_INFRA_VENV=/path bash scripts/lint_infra.sh
#
# The linters (checkov, ansible-core + ansible-lint, yamllint, kubernetes-validate) pin versions
# that conflict with the application's dependencies, so they live in their own virtualenv,
# .venv-infra, (re)installed from infra/requirements-lint.txt when that file changes;
# detect-secrets has one of its own inside it (infra/requirements-secrets.txt). Also needed on the machine: terraform and kubectl (see docs/deploy.md).
#
# What cannot run here, and what runs instead:
#   terraform validate   needs the OpenStack provider from the registry (no download here):
#                        `terraform fmt -check`, `terraform providers` (Terraform's own parser)
#                        and python-hcl2 parse every file, and checkov checks the policies.
#   helm template        every manifest of ours is kustomize, rendered with `kubectl kustomize`;
#                        the charts we install (OpenWhisk, Argo CD, GPU and Knative operators)
#                        are remote, pinned in infra/ansible/inventory/group_vars/all/llara.yml,
#                        and helm is not installable here (no Debian or PyPI package ships it).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${LLARA_INFRA_VENV:-$ROOT/.venv-infra}"
REQUIREMENTS="infra/requirements-lint.txt"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# --- the linters' virtualenvs ----------------------------------------------------------------
ensure_venv() {  # ensure_venv DIR REQUIREMENTS: (re)install when the requirements changed
  local dir="$1" requirements="$2" wanted
  wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [[ ! -x "$dir/bin/python" || "$(cat "$dir/.requirements.sha256" 2>/dev/null)" != "$wanted" ]]; then
    echo "==> installing $requirements into $dir"
    "$PYTHON" -m venv --clear "$dir" || return 1
    # --no-compile: byte-compiling ansible's thousands of modules up front doubles the install
    # time; what the linters import is compiled on first use instead.
    "$dir/bin/python" -m pip install --quiet --no-compile -r "$requirements" >"$WORK/pip.log" 2>&1 \
      || { cat "$WORK/pip.log"; return 1; }
    echo "$wanted" > "$dir/.requirements.sha256"
  fi
}
ensure_venv "$VENV" "$REQUIREMENTS" || exit 1
# Apart from checkov's bc-detect-secrets fork, which installs the same module (see the file).
SECRETS_VENV="$VENV/detect-secrets"
ensure_venv "$SECRETS_VENV" infra/requirements-secrets.txt || exit 1
export PATH="$VENV/bin:$PATH"
export ANSIBLE_CONFIG="$ROOT/infra/ansible/ansible.cfg"
export ANSIBLE_LOCAL_TEMP="$WORK/ansible-tmp" ANSIBLE_HOME="$WORK/ansible-home"

for tool in terraform kubectl; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed (docs/deploy.md, CI prerequisites)"; exit 1; }
done

failed=()
step() {  # step NAME COMMAND...: run one check, report it, remember a failure
  local name="$1" start=$SECONDS
  shift
  echo "==> $name"
  if "$@"; then
    echo "    ok ($((SECONDS - start))s)"
  else
    echo "    FAILED: $name"
    failed+=("$name")
  fi
}

# --- Terraform -------------------------------------------------------------------------------
step "terraform fmt -check -recursive" terraform fmt -check -recursive -diff infra/terraform
step "terraform parses the configuration (terraform providers)" \
  bash -c 'terraform -chdir=infra/terraform providers >/dev/null'
step "python-hcl2 parses every .tf file" python - <<'EOF'
import pathlib, sys
import hcl2
files = sorted(pathlib.Path("infra/terraform").rglob("*.tf"))
for path in files:
    with path.open() as f:
        hcl2.load(f)
print(f"    {len(files)} files parsed")
sys.exit(0 if files else 1)
EOF
CHECKOV=(checkov --skip-download --quiet --compact)  # --skip-download: no Prisma Cloud calls
step "checkov: terraform" "${CHECKOV[@]}" -d infra/terraform --framework terraform

# --- Kubernetes ------------------------------------------------------------------------------
step "kubectl kustomize + kubernetes-validate (strict, offline schemas)" \
  python infra/k8s/validate.py --out "$WORK/rendered"
if [[ -d "$WORK/rendered" ]]; then
  step "checkov: kubernetes (rendered manifests)" "${CHECKOV[@]}" -d "$WORK/rendered" --framework kubernetes
fi
step "checkov: dockerfiles" "${CHECKOV[@]}" --framework dockerfile \
  -f openwhisk/runtime/Dockerfile -f infra/docker/serve.Dockerfile -f infra/docker/train.Dockerfile
echo "==> helm: no local chart to render (our manifests are kustomize, rendered above; the charts"
echo "    we install are remote and pinned: infra/ansible/inventory/group_vars/all/llara.yml)"

# --- YAML and Ansible ------------------------------------------------------------------------
step "yamllint" yamllint --strict -c infra/yamllint.yaml infra openwhisk
syntax_check() {
  local playbook rc=0
  for playbook in infra/ansible/playbooks/*.yml; do
    ansible-playbook --syntax-check -i infra/ansible/inventory "$playbook" >"$WORK/syntax.log" 2>&1 \
      || { cat "$WORK/syntax.log"; rc=1; }
    echo "    $playbook"
  done
  return $rc
}
step "ansible-playbook --syntax-check (every playbook)" syntax_check
# offline: true in infra/ansible/.ansible-lint: never downloads collections from Galaxy.
step "ansible-lint (production profile, offline)" bash -c 'cd infra/ansible && ansible-lint -q --offline'
step "checkov: ansible" "${CHECKOV[@]}" -d infra/ansible --framework ansible

# --- secrets ---------------------------------------------------------------------------------
scan_secrets() {
  # Every tracked (and not-ignored new) file; .secrets.baseline holds only reviewed false
  # positives. When only their line numbers moved, the hook rewrites the baseline and exits 3:
  # it gets a copy, and a second pass over the refreshed copy decides.
  local rc
  cp .secrets.baseline "$WORK/secrets.baseline"
  for _ in 1 2; do
    git ls-files -z --cached --others --exclude-standard \
      | xargs -0 "$SECRETS_VENV/bin/detect-secrets-hook" --baseline "$WORK/secrets.baseline"
    rc=$?
    ((rc == 3)) || break
  done
  return $rc
}
step "detect-secrets (whole repository, against .secrets.baseline)" scan_secrets

if ((${#failed[@]})); then
  echo "lint-infra: ${#failed[@]} check(s) failed: ${failed[*]}"
  exit 1
fi
echo "lint-infra: all checks passed"
