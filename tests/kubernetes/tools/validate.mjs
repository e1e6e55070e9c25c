// Validates custom resources (a JSON list on stdin) against their published schemas, as
// kubernetes-validate does the built-in kinds: prints each problem, exits 1 on any, and on a kind
// it has no schema for.
import { readFileSync } from "node:fs";

const MODELS = {
  "argoproj.io/v1alpha1/Rollout": "@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/Rollout",
  "argoproj.io/v1alpha1/AnalysisTemplate": "@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/AnalysisTemplate",
  "monitoring.coreos.com/v1/PodMonitor": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor",
  "monitoring.coreos.com/v1/PrometheusRule": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule",
};

const resources = JSON.parse(readFileSync(0, "utf8"));
let failed = false;
for (const resource of resources) {
  const name = `${resource.kind}/${resource.metadata?.name}`;
  const module = MODELS[`${resource.apiVersion}/${resource.kind}`];
  if (!module) {
    console.log(`${name}: no schema for ${resource.apiVersion} ${resource.kind}`);
    failed = true;
    continue;
  }
  const Model = (await import(module))[resource.kind];
  try {
    new Model(resource).validate();
  } catch (error) {
    console.log(`${name}: ${error.message}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
