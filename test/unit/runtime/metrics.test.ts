import assert from 'node:assert/strict';
import { createMetrics } from '../../../runtime/metrics.js';

/** The value of one series in the registry's text output, or undefined. */
async function sample(text: Promise<string>, series: string): Promise<number | undefined> {
  const line = (await text).split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('createMetrics', () => {
  it('exports build info with the version and the Node.js version', async () => {
    const { registry } = createMetrics({ version: '1.2.3', processMetrics: false });
    const series = `kube_lbc_build_info{version="1.2.3",node_version="${process.version}"}`;
    assert.equal(await sample(registry.metrics(), series), 1);
  });

  it('exports process metrics unless told not to', async () => {
    assert.match(
      await createMetrics({ version: 'x' }).registry.metrics(),
      /^process_cpu_seconds_total /m,
    );
    const bare = await createMetrics({ version: 'x', processMetrics: false }).registry.metrics();
    assert.doesNotMatch(bare, /process_cpu_seconds_total/);
  });

  it('reports leader status per lease name, as client-go does', async () => {
    const { registry, leader } = createMetrics({ version: 'x', processMetrics: false });
    leader.leaderOn('kube-lbc');
    assert.equal(
      await sample(registry.metrics(), 'leader_election_master_status{name="kube-lbc"}'),
      1,
    );
    leader.leaderOff('kube-lbc');
    assert.equal(
      await sample(registry.metrics(), 'leader_election_master_status{name="kube-lbc"}'),
      0,
    );
  });

  it('counts cloud calls by provider, budget, operation and outcome, and throttles apart', async () => {
    const { registry, cloudCallObserver } = createMetrics({ version: 'x', processMetrics: false });
    const observe = cloudCallObserver('aws');
    observe({
      budget: 'mutate',
      operation: 'CreateLoadBalancer',
      outcome: 'success',
      seconds: 0.2,
    });
    observe({
      budget: 'mutate',
      operation: 'CreateLoadBalancer',
      outcome: 'throttled',
      seconds: 0.1,
    });
    observe({
      budget: 'mutate',
      operation: 'CreateLoadBalancer',
      outcome: 'success',
      seconds: 0.3,
    });
    const text = registry.metrics();
    const calls = (outcome: string) =>
      `kube_lbc_cloud_api_calls_total{provider="aws",budget="mutate",operation="CreateLoadBalancer",outcome="${outcome}"}`;
    assert.equal(await sample(text, calls('success')), 2);
    assert.equal(await sample(text, calls('throttled')), 1);
    assert.equal(
      await sample(
        text,
        'kube_lbc_cloud_api_throttles_total{provider="aws",budget="mutate",operation="CreateLoadBalancer"}',
      ),
      1,
    );
  });

  it('counts retries by operation and outcome: attempts after the first, not first attempts', async () => {
    const { registry, cloudCallObserver } = createMetrics({ version: 'x', processMetrics: false });
    const observe = cloudCallObserver('aws');
    const attempt = (outcome: 'success' | 'error' | 'timeout', n: number) =>
      observe({
        budget: 'describe',
        operation: 'DescribeTargetGroups',
        outcome,
        seconds: 0.1,
        attempt: n,
      });
    attempt('error', 1);
    attempt('timeout', 2);
    attempt('success', 3);
    attempt('success', 1);
    const text = registry.metrics();
    const retries = (outcome: string) =>
      `kube_lbc_cloud_api_retries_total{provider="aws",budget="describe",operation="DescribeTargetGroups",outcome="${outcome}"}`;
    assert.equal(await sample(text, retries('timeout')), 1);
    assert.equal(await sample(text, retries('success')), 1);
    assert.equal(await sample(text, retries('error')), undefined, 'a first attempt is not a retry');
  });

  it('exports the upstream cloud provider series, naming GCP gce as upstream does', async () => {
    const { registry, cloudCallObserver } = createMetrics({ version: 'x', processMetrics: false });
    cloudCallObserver('aws')({
      budget: 'default',
      operation: 'DescribeTargetGroups',
      outcome: 'error',
      seconds: 0.05,
    });
    cloudCallObserver('gcp')({
      budget: 'default',
      operation: 'ForwardingRules.insert',
      outcome: 'success',
      seconds: 1,
    });
    const text = registry.metrics();
    assert.equal(
      await sample(
        text,
        'cloudprovider_aws_api_request_duration_seconds_count{request="DescribeTargetGroups"}',
      ),
      1,
    );
    assert.equal(
      await sample(text, 'cloudprovider_aws_api_request_errors{request="DescribeTargetGroups"}'),
      1,
    );
    assert.equal(
      await sample(
        text,
        'cloudprovider_gce_api_request_duration_seconds_count{request="ForwardingRules.insert"}',
      ),
      1,
    );
  });

  it('gives a plugin a metric name it can carry, and a second observer the same series', async () => {
    const { registry, cloudCallObserver } = createMetrics({ version: 'x', processMetrics: false });
    cloudCallObserver('@acme/kube-lbc-cloud')({
      budget: 'default',
      operation: 'Put',
      outcome: 'success',
      seconds: 1,
    });
    cloudCallObserver('@acme/kube-lbc-cloud')({
      budget: 'default',
      operation: 'Put',
      outcome: 'success',
      seconds: 1,
    });
    const series =
      'cloudprovider__acme_kube_lbc_cloud_api_request_duration_seconds_count{request="Put"}';
    assert.equal(await sample(registry.metrics(), series), 2);
  });

  it('exports the work-queue series under client-go’s names', async () => {
    const { registry, workQueue } = createMetrics({ version: 'x', processMetrics: false });
    workQueue.add('service');
    workQueue.add('service');
    workQueue.depth('service', 2);
    workQueue.queueLatency('service', 0.001);
    workQueue.workDuration('service', 0.5);
    workQueue.retry('service');
    const text = registry.metrics();
    assert.equal(await sample(text, 'workqueue_adds_total{name="service"}'), 2);
    assert.equal(await sample(text, 'workqueue_depth{name="service"}'), 2);
    assert.equal(await sample(text, 'workqueue_retries_total{name="service"}'), 1);
    assert.equal(await sample(text, 'workqueue_queue_duration_seconds_count{name="service"}'), 1);
    assert.equal(
      await sample(text, 'workqueue_work_duration_seconds_bucket{le="1",name="service"}'),
      1,
    );
    assert.equal(
      await sample(text, 'workqueue_work_duration_seconds_bucket{le="0.1",name="service"}'),
      0,
    );
  });
});
