-- Argo CD health of an Iter8 experiment: the verdict the runner writes on the experiment's
-- Secret (annotation iter8.tools/verdict) as the Secret's health, so the Application shows it.
-- Install as argocd-cm key resource.customizations.health.Secret (docs/gitops.md). Secrets
-- that are not an experiment's (no iter8.tools/group naming the Secret itself) are Healthy,
-- which is what Argo CD assumes of a Secret without a check.
local hs = { status = "Healthy", message = "" }
local annotations = obj.metadata.annotations
if annotations == nil or annotations["iter8.tools/group"] ~= obj.metadata.name then
  return hs
end
local verdict = annotations["iter8.tools/verdict"]
if verdict == "passed" then
  hs.message = "Iter8 experiment passed: every SLO is satisfied"
elseif verdict == "slos-violated" then
  hs.status = "Degraded"
  hs.message = "Iter8 experiment completed and an SLO is violated (iter8 k report -g " .. obj.metadata.name .. ")"
elseif verdict == "failed" then
  hs.status = "Degraded"
  hs.message = "Iter8 experiment failed: a task failed (iter8 k log -g " .. obj.metadata.name .. ")"
else
  hs.status = "Progressing"
  hs.message = "Iter8 experiment running"
end
return hs
