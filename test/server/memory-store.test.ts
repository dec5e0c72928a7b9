import { memoryStore } from '../../src/server/index.js';
import { runConformance } from './conformance.js';

runConformance({ name: 'memory', create: async () => memoryStore() });
// A copy by spreading has no `sync` (not enumerable): the middleware's promise path, with the same table behind it.
runConformance({ name: 'memory, through promises only', create: async () => ({ ...memoryStore() }) });
