import { describe, expect, it } from 'vitest';
import { ChunkArena } from '../../src/server/stores/chunk-arena.js';

describe('chunk arena', () => {
  it('appends into one chunk until it is full, then starts the next', () => {
    const arena = new ChunkArena(100);
    expect(arena.alloc(40)).toBe(0);
    expect(arena.offset).toBe(0);
    expect(arena.alloc(40)).toBe(0);
    expect(arena.offset).toBe(40);
    expect(arena.alloc(40)).toBe(1);
    expect(arena.offset).toBe(0);
    expect(arena.chunkCount).toBe(2);
  });

  it('drops a full chunk once every record in it is released, and reuses its number', () => {
    const arena = new ChunkArena(100);
    arena.alloc(60);
    arena.alloc(60);
    arena.alloc(60);
    expect(arena.reservedBytes).toBe(300);
    arena.release(1, 60);
    expect(arena.has(1)).toBe(false);
    expect(arena.reservedBytes).toBe(200);
    // The chunk being filled is rewound, not dropped, when its records are released.
    arena.release(2, 60);
    expect(arena.has(2)).toBe(true);
    expect(arena.alloc(100)).toBe(2);
    expect(arena.offset).toBe(0);
    expect(arena.alloc(10)).toBe(1);
  });

  it('gives a record larger than a chunk a chunk of its own, dropped with it, and keeps filling the current one', () => {
    const arena = new ChunkArena(100);
    arena.alloc(10);
    const own = arena.alloc(500);
    expect(arena.bytes(own).length).toBe(500);
    expect(arena.alloc(10)).toBe(0);
    expect(arena.offset).toBe(10);
    arena.release(own, 500);
    expect(arena.has(own)).toBe(false);
    expect(arena.reservedBytes).toBe(100);
  });

  it('takes back the last allocation for the next one', () => {
    const arena = new ChunkArena(100);
    arena.alloc(30);
    arena.cancel(arena.alloc(50), 50);
    expect(arena.alloc(70)).toBe(0);
    expect(arena.offset).toBe(30);
    arena.cancel(arena.alloc(500), 500);
    expect(arena.reservedBytes).toBe(100);
  });

  it('reports a chunk other than the current one as sparse when under a quarter of it is live', () => {
    const arena = new ChunkArena(100);
    for (let i = 0; i < 5; i++) arena.alloc(20);
    arena.alloc(20);
    expect(arena.sparse()).toEqual([false, false]);
    for (let i = 0; i < 3; i++) arena.release(0, 20);
    expect(arena.sparse()).toEqual([false, false]);
    arena.release(0, 20);
    expect(arena.sparse()).toEqual([true, false]);
  });
});
