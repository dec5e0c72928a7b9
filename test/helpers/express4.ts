import { createRequire } from 'node:module';
import type express from 'express';

/**
 * Express 4 (the `express4` devDependency alias), which ships no types: typed with
 * Express 5's, which cover the calls the tests make.
 */
export const express4 = createRequire(import.meta.url)('express4') as typeof express;
