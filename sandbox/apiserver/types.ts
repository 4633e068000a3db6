/**
 * The shapes shared by the emulator's modules: objects as JSON, the per-resource strategy (the
 * registry's `RESTCreateUpdateStrategy` in kube-apiserver terms) and the resource table entry.
 */
import type { FieldError } from './errors.js';
import type { SmpSchema } from './smp.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: unknown[];
  [key: string]: unknown;
}

/** Any API object, held as the JSON the wire carries. */
export interface KObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: any;
}

export type Verb =
  'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** Cluster-wide pools a strategy draws from (ClusterIPs, NodePorts) claim and release through this. */
export interface Allocation {
  /** Keep what was claimed and free what the change gave up. */
  commit(): void;
  /** Give back what was claimed; the request failed after allocating. */
  revert(): void;
}

export const noAllocation: Allocation = { commit() {}, revert() {} };

/**
 * What differs from one resource to the next. Every hook works on the object in place; the
 * generic write path in rest.ts calls them in kube-apiserver's order: defaults (on decode),
 * prepare, validate, allocate, persist.
 */
export interface Strategy {
  /** PUT to a missing name creates it (Services, Leases, Events). */
  allowCreateOnUpdate: boolean;
  /** PUT without metadata.resourceVersion is allowed (false for Leases). */
  allowUnconditionalUpdate: boolean;
  /**
   * Decoding and the v1 SetDefaults_* functions: applied to every body and patched result. May
   * throw a 400 for a value the real decoder rejects (a MicroTime without six fraction digits).
   */
  defaults?(obj: KObject): void;
  /** Sets what a create owns (status cleared, generation 1). */
  prepareForCreate?(obj: KObject): void;
  /**
   * A write to the main resource: typically carries status over from `old`, and bumps
   * metadata.generation where the kind tracks it (the generic path first resets it to old's).
   */
  prepareForUpdate?(obj: KObject, old: KObject): void;
  /** A write to /status: typically carries spec over from `old`. Absent: no status subresource. */
  prepareForStatusUpdate?(obj: KObject, old: KObject): void;
  validate?(obj: KObject): FieldError[];
  validateUpdate?(obj: KObject, old: KObject): FieldError[];
  validateStatusUpdate?(obj: KObject, old: KObject): FieldError[];
  /** Claims pooled values for a new object; throws an ApiError when one is taken. */
  allocateCreate?(obj: KObject): Allocation;
  allocateUpdate?(obj: KObject, old: KObject): Allocation;
  /** Frees what the object held, once it is gone from storage. */
  release?(obj: KObject): void;
  /** Fields a fieldSelector may name, with their values for this object. */
  selectableFields(obj: KObject): Record<string, string>;
}

/** One served resource: a row of the discovery document plus how to handle it. */
export interface ResourceType {
  group: string;
  version: string;
  /** Plural, lower case: `services`. */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** `status` when the resource has that subresource. */
  subresources: string[];
  verbs: Verb[];
  strategy: Strategy;
  /** Strategic-merge-patch list semantics for this kind. */
  smp: SmpSchema;
  /** Deleting returns the object (Services, Namespaces) rather than a success Status. */
  returnDeletedObject?: boolean;
  /** The group a 422 names, when the internal type lives elsewhere (events.k8s.io Events are core). */
  internalGroup?: string;
  /** Resources stored once and served under two groups (Events) name the storage they share. */
  storageKey?: string;
  /** Converts between this version and the storage form; absent when they are the same. */
  conversion?: {
    /** The apiVersion objects are stored under. */
    storageVersion: string;
    toStorage(obj: KObject): KObject;
    fromStorage(obj: KObject): KObject;
    /** Maps a field-selector label of this version to the storage form's. */
    fieldLabel?(label: string): string;
  };
}

export const apiVersionOf = (rt: Pick<ResourceType, 'group' | 'version'>) =>
  rt.group ? `${rt.group}/${rt.version}` : rt.version;
export const storageKeyOf = (rt: ResourceType) => rt.storageKey ?? `${rt.group}/${rt.resource}`;

/** The fields every resource lets a fieldSelector name. */
export function metaFields(obj: KObject, namespaced: boolean): Record<string, string> {
  return namespaced
    ? {
        'metadata.name': obj.metadata.name ?? '',
        'metadata.namespace': obj.metadata.namespace ?? '',
      }
    : { 'metadata.name': obj.metadata.name ?? '' };
}
