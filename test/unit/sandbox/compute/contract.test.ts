/**
 * What the Compute emulator assumes about Compute Engine, each point checked through the real
 * `@google-cloud/compute` REST clients and tied to the public API reference
 * (https://cloud.google.com/compute/docs/reference/rest/v1). Where the emulator simplifies, the
 * case says so.
 */
import assert from 'node:assert/strict';
import { ComputeEmulator } from '../../../../sandbox/compute/index.js';
import { googleError, rawClients } from '../../../support/compute.js';

describe('Compute emulator contract, through @google-cloud/compute', () => {
  let emu: ComputeEmulator;
  let c: ReturnType<typeof rawClients>;
  const project = 'kube-lbc-test';
  const region = 'us-central1';
  const zone = 'us-central1-a';

  beforeEach(async () => {
    emu = await ComputeEmulator.start({ project, region, quotas: { forwardingRules: 2 } });
    c = rawClients(emu);
    emu.seedInstance({ name: 'node-1', zone, tags: ['node'] });
    emu.seedInstance({ name: 'node-2', zone, tags: ['node'] });
  });
  afterEach(async () => {
    await emu.close();
  });

  async function done(
    op: { latestResponse?: unknown },
    scope: 'region' | 'zone' | 'global' = 'region',
  ) {
    const name = (op.latestResponse as { name: string }).name;
    if (scope === 'region')
      return (await c.regionOperations.wait({ project, region, operation: name }))[0];
    if (scope === 'zone')
      return (await c.zoneOperations.wait({ project, zone, operation: name }))[0];
    return (await c.globalOperations.wait({ project, operation: name }))[0];
  }

  async function expectError(p: Promise<unknown>, status: number, reason: string): Promise<string> {
    const err = await p.then(
      () => assert.fail(`expected ${status} ${reason}`),
      (e: unknown) => e,
    );
    const g = googleError(err);
    assert.deepEqual([g.status, g.reason], [status, reason], g.message);
    return g.message;
  }

  async function lb() {
    await done(
      (
        await c.healthChecks.insert({
          project,
          region,
          healthCheckResource: {
            name: 'hc',
            type: 'HTTP',
            httpHealthCheck: { port: 10256, requestPath: '/healthz' },
          },
        })
      )[0],
    );
    await done(
      (
        await c.backendServices.insert({
          project,
          region,
          backendServiceResource: {
            name: 'bs',
            protocol: 'TCP',
            loadBalancingScheme: 'EXTERNAL',
            healthChecks: [`regions/${region}/healthChecks/hc`],
          },
        })
      )[0],
    );
    await done((await c.addresses.insert({ project, region, addressResource: { name: 'ip' } }))[0]);
    const [addr] = await c.addresses.get({ project, region, address: 'ip' });
    await done(
      (
        await c.forwardingRules.insert({
          project,
          region,
          forwardingRuleResource: {
            name: 'fr',
            IPAddress: addr.address!,
            IPProtocol: 'TCP',
            ports: ['80'],
            backendService: `projects/${project}/regions/${region}/backendServices/bs`,
            loadBalancingScheme: 'EXTERNAL',
          },
        })
      )[0],
    );
    return addr.address!;
  }

  // https://cloud.google.com/compute/docs/reference/rest/v1/regionOperations: status is one of
  // PENDING, RUNNING, DONE; .../regionOperations/wait returns when DONE (or after 2 minutes).
  it('answers a write with an Operation that goes PENDING, RUNNING, DONE', async () => {
    const [op] = await c.addresses.insert({ project, region, addressResource: { name: 'a1' } });
    const first = op.latestResponse as unknown as {
      name: string;
      status: string;
      operationType: string;
      targetLink: string;
    };
    assert.equal(first.status, 'PENDING');
    assert.equal(first.operationType, 'insert');
    assert.equal(
      first.targetLink,
      `https://www.googleapis.com/compute/v1/projects/${project}/regions/${region}/addresses/a1`,
    );
    const [running] = await c.regionOperations.get({ project, region, operation: first.name });
    assert.equal(running.status, 'RUNNING');
    const [finished] = await c.regionOperations.wait({ project, region, operation: first.name });
    assert.equal(finished.status, 'DONE');
    assert.ok(!finished.error);
  });

  // https://cloud.google.com/compute/docs/reference/rest/v1/addresses: selfLink is the full URL
  // on www.googleapis.com; an address used by a forwarding rule is IN_USE and lists its users.
  it('gives resources selfLinks on the public API root and marks used addresses IN_USE', async () => {
    const ip = await lb();
    const [addr] = await c.addresses.get({ project, region, address: 'ip' });
    assert.equal(
      addr.selfLink,
      `https://www.googleapis.com/compute/v1/projects/${project}/regions/${region}/addresses/ip`,
    );
    assert.equal(addr.status, 'IN_USE');
    assert.deepEqual(addr.users, [
      `https://www.googleapis.com/compute/v1/projects/${project}/regions/${region}/forwardingRules/fr`,
    ]);
    const [fr] = await c.forwardingRules.get({ project, region, forwardingRule: 'fr' });
    assert.equal(fr.IPAddress, ip);
    assert.equal(
      fr.backendService,
      `https://www.googleapis.com/compute/v1/projects/${project}/regions/${region}/backendServices/bs`,
    );
  });

  // https://cloud.google.com/compute/docs/api/handling-errors: 404 notFound, 409 alreadyExists,
  // with the {error: {code, message, errors: [{reason}]}} body.
  it('answers 404 notFound for a missing resource and 409 alreadyExists for a taken name', async () => {
    await expectError(c.addresses.get({ project, region, address: 'nope' }), 404, 'notFound');
    await done((await c.addresses.insert({ project, region, addressResource: { name: 'a1' } }))[0]);
    await expectError(
      c.addresses.insert({ project, region, addressResource: { name: 'a1' } }),
      409,
      'alreadyExists',
    );
  });

  // https://cloud.google.com/compute/docs/naming-resources: [a-z]([-a-z0-9]*[a-z0-9])?, 1-63.
  it('refuses a bad name with 400 invalid naming the field', async () => {
    const message = await expectError(
      c.firewalls.insert({
        project,
        firewallResource: { name: 'Bad_Name', allowed: [{ IPProtocol: 'tcp' }] },
      }),
      400,
      'invalid',
    );
    assert.match(message, /'resource\.name'/);
    await expectError(
      c.addresses.insert({ project, region, addressResource: { name: `a${'b'.repeat(63)}` } }),
      400,
      'invalid',
    );
  });

  // https://cloud.google.com/compute/docs/reference/rest/v1/regionBackendServices/delete fails
  // while a forwarding rule uses the service (resourceInUseByAnotherResource); the same for a
  // health check a backend service uses.
  it('refuses to delete a resource another one uses', async () => {
    await lb();
    await expectError(
      c.backendServices.delete({ project, region, backendService: 'bs' }),
      400,
      'resourceInUseByAnotherResource',
    );
    await expectError(
      c.healthChecks.delete({ project, region, healthCheck: 'hc' }),
      400,
      'resourceInUseByAnotherResource',
    );
    await expectError(
      c.addresses.delete({ project, region, address: 'ip' }),
      400,
      'resourceInUseByAnotherResource',
    );
    await done((await c.forwardingRules.delete({ project, region, forwardingRule: 'fr' }))[0]);
    await done((await c.backendServices.delete({ project, region, backendService: 'bs' }))[0]);
  });

  // https://cloud.google.com/compute/docs/reference/rest/v1/regionBackendServices: "An
  // up-to-date fingerprint must be provided in order to update the BackendService, otherwise the
  // request will fail with error 412 conditionNotMet."
  it('refuses a patch carrying a stale fingerprint with 412 conditionNotMet', async () => {
    await lb();
    const [bs] = await c.backendServices.get({ project, region, backendService: 'bs' });
    await done(
      (
        await c.backendServices.patch({
          project,
          region,
          backendService: 'bs',
          backendServiceResource: { fingerprint: bs.fingerprint!, sessionAffinity: 'CLIENT_IP' },
        })
      )[0],
    );
    await expectError(
      c.backendServices.patch({
        project,
        region,
        backendService: 'bs',
        backendServiceResource: { fingerprint: bs.fingerprint!, sessionAffinity: 'NONE' },
      }),
      412,
      'conditionNotMet',
    );
    const [after] = await c.backendServices.get({ project, region, backendService: 'bs' });
    assert.equal(after.sessionAffinity, 'CLIENT_IP');
  });

  // https://cloud.google.com/compute/docs/reference/rest/v1/forwardingRules/setLabels (and
  // addresses/setLabels): "You must always provide an up-to-date fingerprint hash when updating
  // or changing labels, otherwise the request will fail with error 412 conditionNotMet." The
  // labels given replace all of them; a read shows labelFingerprint, and labels only when set.
  it('sets labels on addresses and forwarding rules only with the current labelFingerprint', async () => {
    await lb();
    await done(
      (
        await c.addresses.insert({
          project,
          region,
          addressResource: { name: 'labelled', labels: { team: 'web' } },
        })
      )[0],
    );
    const [labelled] = await c.addresses.get({ project, region, address: 'labelled' });
    assert.deepEqual(labelled.labels, { team: 'web' });

    const [rule] = await c.forwardingRules.get({ project, region, forwardingRule: 'fr' });
    assert.deepEqual(rule.labels ?? {}, {}, 'a rule made without labels shows none');
    assert.ok(rule.labelFingerprint, 'every labelled kind shows a labelFingerprint');
    const setRule = (labels: Record<string, string>, labelFingerprint: string) =>
      c.forwardingRules.setLabels({
        project,
        region,
        resource: 'fr',
        regionSetLabelsRequestResource: { labels, labelFingerprint },
      });
    await done((await setRule({ 'kube-lbc-released': 'true' }, rule.labelFingerprint!))[0]);
    const [set] = await c.forwardingRules.get({ project, region, forwardingRule: 'fr' });
    assert.deepEqual(set.labels, { 'kube-lbc-released': 'true' });
    assert.notEqual(set.labelFingerprint, rule.labelFingerprint, 'the fingerprint moves on');
    assert.equal(set.fingerprint, rule.fingerprint, "labels do not change the rule's fingerprint");

    await expectError(setRule({}, rule.labelFingerprint!), 412, 'conditionNotMet');
    const message = await expectError(setRule({ Bad: 'x' }, set.labelFingerprint!), 400, 'invalid');
    assert.match(message, /labels\.key/);
    await done((await setRule({}, set.labelFingerprint!))[0]);
    // The client shows an absent map as {}: what GCE sends is read at the emulator.
    const cleared = emu.inventory().find((r) => r.name === 'fr')!;
    assert.ok(!('labels' in cleared), 'no labels left, none shown');

    const [addr] = await c.addresses.get({ project, region, address: 'ip' });
    await expectError(
      c.addresses.setLabels({
        project,
        region,
        resource: 'ip',
        regionSetLabelsRequestResource: { labels: { a: 'b' } },
      }),
      412,
      'conditionNotMet',
    );
    await done(
      (
        await c.addresses.setLabels({
          project,
          region,
          resource: 'ip',
          regionSetLabelsRequestResource: {
            labels: { a: 'b' },
            labelFingerprint: addr.labelFingerprint!,
          },
        })
      )[0],
    );
    assert.deepEqual((await c.addresses.get({ project, region, address: 'ip' }))[0].labels, {
      a: 'b',
    });
  });

  // forwardingRules/patch: "Currently, you can only patch the networkTier field" (and global
  // access); addresses have no patch method at all. Their descriptions are fixed at insert.
  it('refuses to change the description of a forwarding rule in place', async () => {
    await lb();
    const [rule] = await c.forwardingRules.get({ project, region, forwardingRule: 'fr' });
    const message = await expectError(
      c.forwardingRules.patch({
        project,
        region,
        forwardingRule: 'fr',
        forwardingRuleResource: { description: 'changed', fingerprint: rule.fingerprint! },
      }),
      400,
      'invalid',
    );
    assert.match(message, /resource\.description/);
  });

  // https://cloud.google.com/compute/docs/reference/rest/v1/forwardingRules: "ports ... You can
  // specify a list of up to five ports"; the backend service's protocol must match IPProtocol,
  // UNSPECIFIED going with L3_DEFAULT (which sets allPorts).
  it('limits forwarding rules to five ports and to the backend service protocol', async () => {
    await lb();
    const base = {
      IPProtocol: 'TCP',
      backendService: `regions/${region}/backendServices/bs`,
      loadBalancingScheme: 'EXTERNAL',
    };
    const message = await expectError(
      c.forwardingRules.insert({
        project,
        region,
        forwardingRuleResource: { ...base, name: 'six', ports: ['1', '2', '3', '4', '5', '6'] },
      }),
      400,
      'invalid',
    );
    assert.match(message, /'resource\.ports'/);
    await expectError(
      c.forwardingRules.insert({
        project,
        region,
        forwardingRuleResource: { ...base, name: 'udp', IPProtocol: 'UDP', ports: ['53'] },
      }),
      400,
      'invalid',
    );
  });

  // https://cloud.google.com/compute/resource-usage: past a quota the Operation ends in error
  // QUOTA_EXCEEDED. Simplification: quotas here count resources of one collection per scope.
  it('fails the Operation of a write past its quota, and writes nothing', async () => {
    await lb();
    await done(
      (
        await c.forwardingRules.insert({
          project,
          region,
          forwardingRuleResource: {
            name: 'fr2',
            IPProtocol: 'TCP',
            ports: ['81'],
            backendService: `regions/${region}/backendServices/bs`,
            loadBalancingScheme: 'EXTERNAL',
          },
        })
      )[0],
    );
    const [op] = await c.forwardingRules.insert({
      project,
      region,
      forwardingRuleResource: {
        name: 'fr3',
        IPProtocol: 'TCP',
        ports: ['82'],
        backendService: `regions/${region}/backendServices/bs`,
        loadBalancingScheme: 'EXTERNAL',
      },
    });
    const finished = await done(op);
    assert.equal(finished.status, 'DONE');
    assert.equal(finished.error?.errors?.[0]?.code, 'QUOTA_EXCEEDED');
    assert.equal(finished.httpErrorStatusCode, 403);
    await expectError(
      c.forwardingRules.get({ project, region, forwardingRule: 'fr3' }),
      404,
      'notFound',
    );
  });

  // https://cloud.google.com/compute/docs/reference/rest/v1/instanceGroups/addInstances,
  // removeInstances and listInstances (a POST whose answer lists {instance, status}).
  it('keeps unmanaged instance group members through add, list and remove', async () => {
    await done(
      (await c.instanceGroups.insert({ project, zone, instanceGroupResource: { name: 'ig' } }))[0],
      'zone',
    );
    const link = (n: string) =>
      `https://www.googleapis.com/compute/v1/projects/${project}/zones/${zone}/instances/${n}`;
    await done(
      (
        await c.instanceGroups.addInstances({
          project,
          zone,
          instanceGroup: 'ig',
          instanceGroupsAddInstancesRequestResource: {
            instances: [
              { instance: link('node-1') },
              { instance: `zones/${zone}/instances/node-2` },
            ],
          },
        })
      )[0],
      'zone',
    );
    const [members] = await c.instanceGroups.listInstances({
      project,
      zone,
      instanceGroup: 'ig',
      instanceGroupsListInstancesRequestResource: {},
    });
    assert.deepEqual(members.map((m) => m.instance).sort(), [link('node-1'), link('node-2')]);
    await done(
      (
        await c.instanceGroups.removeInstances({
          project,
          zone,
          instanceGroup: 'ig',
          instanceGroupsRemoveInstancesRequestResource: {
            instances: [{ instance: link('node-1') }],
          },
        })
      )[0],
      'zone',
    );
    const [group] = await c.instanceGroups.get({ project, zone, instanceGroup: 'ig' });
    assert.equal(group.size, 1);
  });

  // https://cloud.google.com/compute/docs/reference/rest/v1/addresses/list: filter
  // "name eq <RE2>"; pages via maxResults and nextPageToken (the client follows them).
  it('filters lists by name and pages them', async () => {
    for (const n of ['k8s-a', 'k8s-b', 'other'])
      await done((await c.addresses.insert({ project, region, addressResource: { name: n } }))[0]);
    const [owned] = await c.addresses.list({ project, region, filter: 'name eq k8s-.*' });
    assert.deepEqual(
      owned.map((a) => a.name),
      ['k8s-a', 'k8s-b'],
    );
    const [all] = await c.addresses.list({ project, region, maxResults: 1 });
    assert.equal(all.length, 3);
  });

  // https://cloud.google.com/compute/docs/api/how-tos/api-requests-responses#request_id: a
  // repeated requestId is answered with the first request's Operation, not done twice.
  it('answers a repeated requestId with the first Operation', async () => {
    const requestId = '8c1f3e2a-0000-4000-8000-000000000001';
    const [a] = await c.addresses.insert({
      project,
      region,
      requestId,
      addressResource: { name: 'a1' },
    });
    const [b] = await c.addresses.insert({
      project,
      region,
      requestId,
      addressResource: { name: 'a1' },
    });
    assert.equal(
      (a.latestResponse as { name: string }).name,
      (b.latestResponse as { name: string }).name,
    );
  });

  describe('fault injection', () => {
    it('loses the answer of a write that still happened', async () => {
      emu.faults.inject({ operation: 'addresses.insert', effect: { kind: 'lost-answer' } });
      await assert.rejects(
        c.addresses.insert({ project, region, addressResource: { name: 'a1' } }),
      );
      const [addr] = await c.addresses.get({ project, region, address: 'a1' });
      assert.equal(addr.name, 'a1');
    });

    // https://cloud.google.com/compute/api-quotas: rate limits answer 403 rateLimitExceeded
    // (and 429 from the front end).
    it('rate limits with 403 rateLimitExceeded and 429, and fails chosen Operations', async () => {
      const fault = emu.faults.inject({
        operation: /^regionBackendServices\./,
        effect: { kind: 'rate-limit' },
        times: 2,
      });
      await expectError(
        c.backendServices.get({ project, region, backendService: 'x' }),
        403,
        'rateLimitExceeded',
      );
      await expectError(c.backendServices.list({ project, region }), 403, 'rateLimitExceeded');
      assert.equal(fault.hits, 2);
      await expectError(
        c.backendServices.get({ project, region, backendService: 'x' }),
        404,
        'notFound',
      );
      emu.faults.inject({
        operation: 'addresses.list',
        effect: { kind: 'rate-limit', status: 429 },
      });
      await expectError(c.addresses.list({ project, region }), 429, 'rateLimitExceeded');
      emu.faults.inject({
        operation: 'addresses.insert',
        effect: { kind: 'operation-error', code: 'INTERNAL_ERROR', status: 500 },
      });
      const finished = await done(
        (await c.addresses.insert({ project, region, addressResource: { name: 'a1' } }))[0],
      );
      assert.equal(finished.error?.errors?.[0]?.code, 'INTERNAL_ERROR');
      await expectError(c.addresses.get({ project, region, address: 'a1' }), 404, 'notFound');
    });

    it('delays answers and refuses with a chosen error', async () => {
      emu.faults.inject({ operation: 'addresses.get', effect: { kind: 'latency', ms: 20 } });
      emu.faults.inject({
        operation: 'addresses.get',
        effect: { kind: 'error', status: 503, reason: 'backendError' },
      });
      await expectError(c.addresses.get({ project, region, address: 'x' }), 503, 'backendError');
    });
  });
});
