#!/usr/bin/env bash
# Asks the server behind $KUBECONFIG the questions on which Kubernetes 1.20 and current releases
# differ for kube-lbc, and prints one line per answer. Works in a fresh "kube-lbc-probe-N"
# namespace, deleted at the end. Runs against the emulator as well as against a real server.
set -euo pipefail

: "${KUBECONFIG:?set KUBECONFIG, e.g. eval \"\$(scripts/real-apiserver/start.sh)\"}"
# A fresh namespace each run: a deleted one stays Terminating where no namespace controller runs.
NS="kube-lbc-probe-$RANDOM"
PREFIX=probe

raw() { kubectl get --raw "$1" 2>/dev/null || echo '{}'; }
# json EXPR reads JSON on stdin and prints the JavaScript expression EXPR over it (as `o`).
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let o;try{o=JSON.parse(s)}catch{o={}};const v=('"$1"');console.log(typeof v==="string"?v:JSON.stringify(v))})'; }
server="$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
token="$(kubectl config view --minify --raw -o jsonpath='{.users[0].user.token}')"
# curl rather than kubectl: an error answer must come back as the server's Status object.
curl_api() { curl -ksS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"; }
create() { # $1 = path, $2 = body; prints the created object or the error Status
  curl_api -X POST "$server$1" -d "$2" | tr -d '\n'
}
report() { printf '%-44s %s\n' "$1" "$2"; }

report "server version" "$(raw /version | json 'o.gitVersion')"
for g in discovery.k8s.io events.k8s.io coordination.k8s.io; do
  report "$g versions" "$(raw "/apis/$g" | json '(o.versions||[]).map(v=>v.version).join(",")||"absent"')"
done

out="$(create /api/v1/namespaces "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$NS\"}}")"
[[ "$(json 'o.kind' <<<"$out")" == Namespace ]] || { echo "cannot create namespace $NS: $out" >&2; exit 1; }
svc() { # $1 = name, $2 = extra spec JSON members, $3 = ports JSON
  create "/api/v1/namespaces/$NS/services" \
    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"$PREFIX-$1\"},\"spec\":{\"type\":\"LoadBalancer\",$2\"ports\":$3}}"
}
tcp80='[{"name":"http","port":80,"protocol":"TCP"}]'

out="$(svc class '"loadBalancerClass":"example.com/lb","internalTrafficPolicy":"Local",' "$tcp80")"
report "spec.loadBalancerClass on create" "$(json 'o.spec?.loadBalancerClass ?? "dropped silently"' <<<"$out")"
report "spec.internalTrafficPolicy on create" "$(json 'o.spec?.internalTrafficPolicy ?? "dropped silently"' <<<"$out")"
report "spec.ipFamilies / ipFamilyPolicy default" "$(json '(o.spec?.ipFamilies ?? "absent")+" / "+(o.spec?.ipFamilyPolicy ?? "absent")' <<<"$out")"
report "spec.clusterIPs default" "$(json 'o.spec?.clusterIPs ?? "absent"' <<<"$out")"
report "metadata.generation on create" "$(json 'o.metadata?.generation ?? "absent"' <<<"$out")"

out="$(svc noports '"allocateLoadBalancerNodePorts":false,' "$tcp80")"
report "allocateLoadBalancerNodePorts:false" "$(json '"field "+(o.spec?.allocateLoadBalancerNodePorts ?? "dropped")+", nodePort "+(o.spec?.ports?.[0]?.nodePort ?? "none")' <<<"$out")"

out="$(svc mixed '' '[{"name":"tcp","port":53,"protocol":"TCP"},{"name":"udp","port":53,"protocol":"UDP"}]')"
report "mixed TCP+UDP LoadBalancer" "$(json 'o.kind==="Service" ? "accepted" : (o.code+" "+o.reason)' <<<"$out")"

# The status subresource: which of the newer fields survive a write.
status='{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.1","ipMode":"VIP","ports":[{"port":80,"protocol":"TCP"}]}]},"conditions":[{"type":"Probe","status":"True","reason":"Probe","message":"","lastTransitionTime":"2020-01-01T00:00:00Z"}]}}'
out="$(kubectl patch service -n "$NS" "$PREFIX-class" --subresource=status --type=merge -p "$status" -o json 2>/dev/null | tr -d '\n' || echo '{}')"
report "status.loadBalancer.ingress[].ipMode" "$(json 'o.status?.loadBalancer?.ingress?.[0]?.ipMode ?? "dropped silently"' <<<"$out")"
report "status.loadBalancer.ingress[].ports" "$(json 'o.status?.loadBalancer?.ingress?.[0]?.ports ? "kept" : "dropped"' <<<"$out")"
report "status.conditions" "$(json 'o.status?.conditions ? "kept" : "dropped"' <<<"$out")"

out="$(kubectl patch service -n "$NS" "$PREFIX-class" --type=merge -p '{"spec":{"sessionAffinity":"ClientIP"}}' -o json 2>/dev/null | tr -d '\n' || echo '{}')"
report "metadata.generation after a spec change" "$(json 'o.metadata?.generation ?? "absent"' <<<"$out")"

# Unknown fields: current servers warn (or refuse with fieldValidation=Strict); 1.20 drops them.
headers="$(curl_api -o /dev/null -D - -X POST "$server/api/v1/namespaces/$NS/services?fieldValidation=Strict" \
  -d "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"$PREFIX-strict\"},\"spec\":{\"noSuchField\":1,\"ports\":$tcp80}}")"
report "unknown field with fieldValidation=Strict" \
  "$(awk 'NR==1{printf "HTTP %s", $2} tolower($1)=="warning:"{printf ", warning"}' <<<"$headers")"

# Which endpoint fields the newest served EndpointSlice version keeps (kube-lbc reads the node).
eps_version="$(raw /apis/discovery.k8s.io | json 'o.preferredVersion?.version ?? "v1"')"
out="$(create "/apis/discovery.k8s.io/$eps_version/namespaces/$NS/endpointslices" \
  "{\"apiVersion\":\"discovery.k8s.io/$eps_version\",\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"$PREFIX-eps\"},\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[\"10.0.0.5\"],\"conditions\":{\"ready\":true,\"serving\":true,\"terminating\":false},\"nodeName\":\"n1\",\"zone\":\"z1\",\"topology\":{\"kubernetes.io/hostname\":\"n1\"}}],\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}]}")"
report "EndpointSlice $eps_version endpoint fields kept" "$(json 'Object.keys(o.endpoints?.[0] ?? {}).join(",") + " (conditions: " + Object.keys(o.endpoints?.[0]?.conditions ?? {}).join(",") + ")"' <<<"$out")"

report "EndpointSlice discovery.k8s.io/v1 list" \
  "$(kubectl get --raw "/apis/discovery.k8s.io/v1/namespaces/$NS/endpointslices" >/dev/null 2>&1 && echo served || echo 'not served (404)')"

kubectl delete services -n "$NS" --all --wait=false >/dev/null 2>&1 || true
kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
