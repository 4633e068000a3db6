import assert from 'node:assert/strict';
import { decodeProtobuf } from '../../../../sandbox/apiserver/protobuf.js';

/** Bodies kubectl 1.32 sent (`--v=8`), byte for byte. */
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const CREATE_NAMESPACE = hex(`
  6b 38 73 00 0a 0f 0a 02 76 31 12 09 4e 61 6d 65 73 70 61 63 65 12 1b 0a 13 0a 03 6b 6e 73 12 00 1a 00 22 00 2a 00 32 00 38 00 42 00 12 00 1a 02 0a 00 1a 00 22 00`);
const CREATE_SERVICE_CLUSTERIP = hex(`
  6b 38 73 00 0a 0d 0a 02 76 31 12 07 53 65 72 76
  69 63 65 12 63 0a 1d 0a 02 6b 63 12 00 1a 00 22
  00 2a 00 32 00 38 00 42 00 5a 09 0a 03 61 70 70
  12 02 6b 63 12 3e 0a 18 0a 05 38 30 2d 38 30 12
  03 54 43 50 18 50 22 06 08 00 10 50 1a 00 28 00
  12 09 0a 03 61 70 70 12 02 6b 63 1a 00 22 09 43
  6c 75 73 74 65 72 49 50 3a 00 42 00 52 00 5a 00
  60 00 68 00 1a 02 0a 00 1a 00 22 00`);

describe('protobuf bodies', () => {
  it('decodes kubectl create namespace to the JSON a client would send', () => {
    assert.deepEqual(decodeProtobuf(CREATE_NAMESPACE), {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'kns' },
    });
  });

  it('decodes kubectl create service clusterip, dropping the zero values gogo writes out', () => {
    assert.deepEqual(decodeProtobuf(CREATE_SERVICE_CLUSTERIP), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kc', labels: { app: 'kc' } },
      spec: {
        ports: [{ name: '80-80', protocol: 'TCP', port: 80, targetPort: 80 }],
        selector: { app: 'kc' },
        type: 'ClusterIP',
      },
    });
  });

  it('keeps a false pointer field and a string targetPort', () => {
    // ServiceSpec{ports: [{port: 80, targetPort: "http"}], allocateLoadBalancerNodePorts: false}
    const port = Buffer.from([
      0x18,
      0x50,
      0x22,
      0x08,
      0x08,
      0x01,
      0x1a,
      0x04,
      ...Buffer.from('http'),
    ]);
    const spec = Buffer.from([0x0a, port.length, ...port, 0xa0, 0x01, 0x00]);
    const service = Buffer.from([0x12, spec.length, ...spec]);
    const typeMeta = Buffer.from([
      0x0a,
      0x02,
      ...Buffer.from('v1'),
      0x12,
      0x07,
      ...Buffer.from('Service'),
    ]);
    const unknown = Buffer.from([
      0x0a,
      typeMeta.length,
      ...typeMeta,
      0x12,
      service.length,
      ...service,
    ]);
    const body = Buffer.concat([Buffer.from('k8s\0', 'latin1'), unknown]);
    assert.deepEqual(decodeProtobuf(body).spec, {
      ports: [{ port: 80, targetPort: 'http' }],
      allocateLoadBalancerNodePorts: false,
    });
  });

  it('refuses a kind it has no schema for with a 415, and garbage with a 400', () => {
    const typeMeta = Buffer.from([
      0x0a,
      0x02,
      ...Buffer.from('v1'),
      0x12,
      0x03,
      ...Buffer.from('Pod'),
    ]);
    const body = Buffer.concat([
      Buffer.from('k8s\0', 'latin1'),
      Buffer.from([0x0a, typeMeta.length]),
      typeMeta,
    ]);
    assert.throws(
      () => decodeProtobuf(body),
      (e: { code: number }) => e.code === 415,
    );
    assert.throws(
      () => decodeProtobuf(Buffer.from('k8s\0\x0a\xff', 'latin1')),
      (e: { code: number }) => e.code === 400,
    );
  });
});
