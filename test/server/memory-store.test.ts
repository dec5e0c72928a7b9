import { memoryStore } from '../../src/server/index.js';
import { runConformance } from './conformance.js';

runConformance({ name: 'memory', create: async () => memoryStore() });
