/**
 * Service validation as `pkg/apis/core/validation` does it for the fields a load-balancer
 * controller meets: type, ports and node ports, cluster IPs, traffic policies, the load-balancer
 * fields, and the status a controller writes.
 */
import {
  duplicate,
  forbiddenField,
  invalidValue,
  notSupported,
  required,
  type FieldError,
} from '../errors.js';
import type { KObject } from '../types.js';
import {
  isCIDR,
  isIP,
  labelMapErrors,
  nameErrors,
  objectMetaErrors,
  objectMetaUpdateErrors,
  qualifiedNameErrors,
} from '../validation.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const SOURCE_RANGES_ANNOTATION = 'service.beta.kubernetes.io/load-balancer-source-ranges';

export const needsNodePorts = (svc: KObject) =>
  svc.spec?.type === 'NodePort' || svc.spec?.type === 'LoadBalancer';
export const needsHealthCheck = (svc: KObject) =>
  svc.spec?.type === 'LoadBalancer' && svc.spec?.externalTrafficPolicy === 'Local';
export const isHeadless = (svc: KObject) => svc.spec?.clusterIP === 'None';
export const externallyAccessible = (svc: KObject) =>
  needsNodePorts(svc) ||
  (svc.spec?.type === 'ClusterIP' && (svc.spec?.externalIPs?.length ?? 0) > 0);

function portErrors(svc: KObject): FieldError[] {
  const spec = svc.spec;
  const ports: any[] = spec.ports ?? [];
  const errs: FieldError[] = [];
  if (spec.type !== 'ExternalName' && ports.length === 0) errs.push(required('spec.ports'));
  const names = new Set<string>();
  const portKeys = new Set<string>();
  const nodePortKeys = new Set<string>();
  ports.forEach((p, i) => {
    const at = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) errs.push(required(`${at}.name`));
    if (p.name) {
      for (const e of nameErrors('dns1123Label', p.name))
        errs.push(invalidValue(`${at}.name`, p.name, e));
      if (names.has(p.name)) errs.push(duplicate(`${at}.name`, p.name));
      names.add(p.name);
    }
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      errs.push(invalidValue(`${at}.port`, p.port, 'must be between 1 and 65535, inclusive'));
    }
    if (!PROTOCOLS.includes(p.protocol))
      errs.push(notSupported(`${at}.protocol`, p.protocol, PROTOCOLS));
    const tp = p.targetPort;
    if (typeof tp === 'number' && (tp < 1 || tp > 65535)) {
      errs.push(invalidValue(`${at}.targetPort`, tp, 'must be between 1 and 65535, inclusive'));
    }
    const key = `${p.port}/${p.protocol}`;
    if (portKeys.has(key)) errs.push(duplicate(at, { port: p.port, protocol: p.protocol }));
    portKeys.add(key);
    if (p.nodePort) {
      if (spec.type === 'ClusterIP' || spec.type === 'ExternalName') {
        errs.push(
          forbiddenField(`${at}.nodePort`, `may not be used when \`type\` is '${spec.type}'`),
        );
      }
      const npKey = `${p.nodePort}/${p.protocol}`;
      if (nodePortKeys.has(npKey)) errs.push(duplicate(`${at}.nodePort`, p.nodePort));
      nodePortKeys.add(npKey);
    }
  });
  return errs;
}

function clusterIPErrors(svc: KObject): FieldError[] {
  const spec = svc.spec;
  const errs: FieldError[] = [];
  if (spec.type === 'ExternalName') {
    if (spec.clusterIP)
      errs.push(forbiddenField('spec.clusterIPs', 'may not be set for ExternalName services'));
    if (!spec.externalName) errs.push(required('spec.externalName'));
    else
      for (const e of nameErrors('dns1123Subdomain', String(spec.externalName).replace(/\.$/, '')))
        errs.push(invalidValue('spec.externalName', spec.externalName, e));
    return errs;
  }
  const ip = spec.clusterIP;
  if (ip && ip !== 'None' && !isIP(ip))
    errs.push(
      invalidValue('spec.clusterIPs[0]', ip, "must be empty, 'None', or a valid IP address"),
    );
  if (ip === 'None' && needsNodePorts(svc)) {
    errs.push(
      invalidValue('spec.clusterIPs[0]', ip, `may not be set to 'None' for ${spec.type} services`),
    );
  }
  return errs;
}

function loadBalancerFieldErrors(svc: KObject): FieldError[] {
  const spec = svc.spec;
  const errs: FieldError[] = [];
  const isLB = spec.type === 'LoadBalancer';
  if (
    spec.allocateLoadBalancerNodePorts !== undefined &&
    spec.allocateLoadBalancerNodePorts !== null &&
    !isLB
  ) {
    errs.push(
      forbiddenField(
        'spec.allocateLoadBalancerNodePorts',
        "may only be used when `type` is 'LoadBalancer'",
      ),
    );
  }
  if (
    isLB &&
    (spec.allocateLoadBalancerNodePorts === undefined ||
      spec.allocateLoadBalancerNodePorts === null)
  ) {
    errs.push(required('spec.allocateLoadBalancerNodePorts'));
  }
  if (spec.loadBalancerClass !== undefined && spec.loadBalancerClass !== null) {
    if (!isLB)
      errs.push(
        forbiddenField('spec.loadBalancerClass', "may only be used when `type` is 'LoadBalancer'"),
      );
    else
      for (const e of qualifiedNameErrors(spec.loadBalancerClass))
        errs.push(invalidValue('spec.loadBalancerClass', spec.loadBalancerClass, e));
  }
  // The capitalised path is the real server's (a historical accident it keeps); the annotation
  // form is checked too, for LoadBalancers.
  const RANGES_MSG = 'must be a list of IP ranges. For example, 10.240.0.0/24,10.250.0.0/24 ';
  if ((spec.loadBalancerSourceRanges?.length ?? 0) > 0) {
    const field = 'spec.LoadBalancerSourceRanges';
    if (!isLB) errs.push(forbiddenField(field, "may only be used when `type` is 'LoadBalancer'"));
    (spec.loadBalancerSourceRanges as string[]).forEach((r, i) => {
      if (!isCIDR(String(r).trim())) errs.push(invalidValue(`${field}[${i}]`, r, RANGES_MSG));
    });
  }
  const annotation = svc.metadata.annotations?.[SOURCE_RANGES_ANNOTATION];
  if (isLB && annotation !== undefined && annotation.trim() !== '') {
    if (annotation.split(',').some((r) => !isCIDR(r.trim()))) {
      errs.push(
        invalidValue(`metadata.annotations[${SOURCE_RANGES_ANNOTATION}]`, annotation, RANGES_MSG),
      );
    }
  }
  if (spec.loadBalancerIP && !isLB)
    errs.push(
      forbiddenField('spec.loadBalancerIP', "may only be used when `type` is 'LoadBalancer'"),
    );
  if (spec.loadBalancerIP && !isIP(spec.loadBalancerIP))
    errs.push(
      invalidValue('spec.loadBalancerIP', spec.loadBalancerIP, 'must be a valid IP address'),
    );
  return errs;
}

function trafficPolicyErrors(svc: KObject): FieldError[] {
  const spec = svc.spec;
  const errs: FieldError[] = [];
  if (!externallyAccessible(svc)) {
    if (spec.externalTrafficPolicy) {
      errs.push(
        invalidValue(
          'spec.externalTrafficPolicy',
          spec.externalTrafficPolicy,
          'may only be set for externally-accessible services',
        ),
      );
    }
  } else if (!spec.externalTrafficPolicy) {
    errs.push(required('spec.externalTrafficPolicy'));
  } else if (!['Cluster', 'Local'].includes(spec.externalTrafficPolicy)) {
    errs.push(
      notSupported('spec.externalTrafficPolicy', spec.externalTrafficPolicy, ['Cluster', 'Local']),
    );
  }
  if (!needsHealthCheck(svc) && spec.healthCheckNodePort) {
    errs.push(
      forbiddenField(
        'spec.healthCheckNodePort',
        "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
      ),
    );
  }
  if (spec.internalTrafficPolicy && !['Cluster', 'Local'].includes(spec.internalTrafficPolicy)) {
    errs.push(
      notSupported('spec.internalTrafficPolicy', spec.internalTrafficPolicy, ['Cluster', 'Local']),
    );
  }
  if (!['None', 'ClientIP'].includes(spec.sessionAffinity)) {
    errs.push(notSupported('spec.sessionAffinity', spec.sessionAffinity, ['ClientIP', 'None']));
  }
  return errs;
}

function ipFamilyErrors(svc: KObject): FieldError[] {
  const spec = svc.spec;
  const errs: FieldError[] = [];
  if (spec.type === 'ExternalName') return errs;
  if (spec.ipFamilyPolicy === 'RequireDualStack' && !(isHeadless(svc) && !hasSelector(svc))) {
    errs.push(
      invalidValue(
        'spec.ipFamilyPolicy',
        spec.ipFamilyPolicy,
        'this cluster is not configured for dual-stack services',
      ),
    );
  }
  (spec.ipFamilies ?? []).forEach((f: string, i: number) => {
    if (f !== 'IPv4' && !(isHeadless(svc) && !hasSelector(svc)))
      errs.push(invalidValue(`spec.ipFamilies[${i}]`, f, 'not configured on this cluster'));
  });
  return errs;
}

export const hasSelector = (svc: KObject) => Object.keys(svc.spec?.selector ?? {}).length > 0;

export function validateService(svc: KObject): FieldError[] {
  const spec = svc.spec;
  const errs = objectMetaErrors(svc, 'dns1035Label');
  if (!TYPES.includes(spec.type)) {
    errs.push(notSupported('spec.type', spec.type, TYPES));
    return errs;
  }
  errs.push(...labelMapErrors(spec.selector, 'spec.selector'));
  errs.push(
    ...portErrors(svc),
    ...clusterIPErrors(svc),
    ...loadBalancerFieldErrors(svc),
    ...trafficPolicyErrors(svc),
    ...ipFamilyErrors(svc),
  );
  return errs;
}

export function validateServiceUpdate(svc: KObject, old: KObject): FieldError[] {
  const errs = [...objectMetaUpdateErrors(svc, old), ...validateService(svc)];
  const oldIP = old.spec?.clusterIP;
  if (
    old.spec?.type !== 'ExternalName' &&
    svc.spec.type !== 'ExternalName' &&
    oldIP &&
    svc.spec.clusterIP !== oldIP
  ) {
    errs.push(
      invalidValue('spec.clusterIPs[0]', svc.spec.clusterIP ?? '', 'may not change once set'),
    );
  }
  if (
    old.spec?.type === 'LoadBalancer' &&
    svc.spec.type === 'LoadBalancer' &&
    (old.spec.loadBalancerClass ?? null) !== (svc.spec.loadBalancerClass ?? null)
  ) {
    errs.push(
      invalidValue(
        'spec.loadBalancerClass',
        svc.spec.loadBalancerClass ?? null,
        'may not change once set',
      ),
    );
  }
  return errs;
}

export function validateServiceStatus(svc: KObject, old: KObject): FieldError[] {
  const errs = objectMetaUpdateErrors(svc, old);
  const ingress: any[] = svc.status?.loadBalancer?.ingress ?? [];
  ingress.forEach((ing, i) => {
    const at = `status.loadBalancer.ingress[${i}]`;
    if (ing.ip && !isIP(ing.ip))
      errs.push(invalidValue(`${at}.ip`, ing.ip, 'must be a valid IP address'));
    if (ing.hostname) {
      for (const e of nameErrors('dns1123Subdomain', ing.hostname))
        errs.push(invalidValue(`${at}.hostname`, ing.hostname, e));
      if (isIP(ing.hostname))
        errs.push(
          invalidValue(`${at}.hostname`, ing.hostname, 'must be a DNS name, not an IP address'),
        );
    }
    if (ing.ipMode !== undefined && ing.ipMode !== null) {
      if (!ing.ip)
        errs.push(forbiddenField(`${at}.ipMode`, 'may not be specified when `ip` is not set'));
      else if (!['VIP', 'Proxy'].includes(ing.ipMode))
        errs.push(notSupported(`${at}.ipMode`, ing.ipMode, ['Proxy', 'VIP']));
    } else if (ing.ip) {
      errs.push(required(`${at}.ipMode`, 'must be specified when `ip` is set'));
    }
    (ing.ports ?? []).forEach((p: any, j: number) => {
      if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535)
        errs.push(
          invalidValue(`${at}.ports[${j}].port`, p.port, 'must be between 1 and 65535, inclusive'),
        );
      if (!PROTOCOLS.includes(p.protocol))
        errs.push(notSupported(`${at}.ports[${j}].protocol`, p.protocol, PROTOCOLS));
    });
  });
  return errs;
}
