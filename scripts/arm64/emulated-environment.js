// Test environment of the ARM64 run: the project's own environment (DOORWAY_ARM64_BASE_ENVIRONMENT),
// with every explicit test and hook timeout multiplied by DOORWAY_ARM64_TIMEOUT_SCALE. Emulation runs
// native code many times slower than a board; a timeout written for x86 speed would fail a correct test.
// (jest's default testTimeout is scaled in the generated config.) Waits that a test measures with the
// wall clock itself are not scaled.
'use strict';
const base = require(process.env.DOORWAY_ARM64_BASE_ENVIRONMENT);
const Base = base.TestEnvironment || base.default || base;

const scale = Number(process.env.DOORWAY_ARM64_TIMEOUT_SCALE || '1');

class EmulatedEnvironment extends Base {
  handleTestEvent(event, state) {
    if (event.name === 'add_test' || event.name === 'add_hook') {
      const block = state.currentDescribeBlock;
      const added = event.name === 'add_test' ? block.children[block.children.length - 1] : block.hooks[block.hooks.length - 1];
      if (added && typeof added.timeout === 'number') added.timeout *= scale;
    }
    return super.handleTestEvent ? super.handleTestEvent(event, state) : undefined;
  }
}

module.exports = EmulatedEnvironment;
