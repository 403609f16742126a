// jest runs tests in a separate vm realm; onnxruntime-node checks `data instanceof Float32Array`
// against the host realm's constructors and fails with "A float32 tensor's data must be type of
// Float32Array". Copying the host's typed-array constructors (and Buffer's) into the test global
// makes arrays created in tests be host arrays.
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView',
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
];

class DoorwayNodeEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = DoorwayNodeEnvironment;
