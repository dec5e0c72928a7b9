// @vitest-environment jsdom
// Pins guardButton's default intent (README, "Plain DOM"): the element's id or name, else
// 'button'. Two guarded buttons with neither, on one engine, are one action; named, two.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSubmitter } from '../../src/core/submitter.js';
import { memoryStore } from '../../src/core/store.js';
import { guardButton } from '../../src/dom/index.js';

const disposers: (() => void)[] = [];
afterEach(() => {
  for (const dispose of disposers.splice(0)) dispose();
});

async function clickBothWhileFirstPends(markup: string): Promise<{ deletes: number; archives: number }> {
  document.body.innerHTML = markup;
  const [remove, archive] = document.querySelectorAll('button');
  const submitter = createSubmitter({ store: memoryStore(), locks: null });
  let answer!: (value: string) => void;
  const onDelete = vi.fn(() => new Promise<string>((resolve) => (answer = resolve)));
  const onArchive = vi.fn(async () => 'archived');
  disposers.push(guardButton(remove!, onDelete, { submitter }));
  disposers.push(guardButton(archive!, onArchive, { submitter }));
  remove!.click();
  await vi.waitFor(() => expect(onDelete).toHaveBeenCalledTimes(1));
  archive!.click();
  await new Promise((resolve) => setTimeout(resolve, 20));
  answer('deleted');
  await new Promise((resolve) => setTimeout(resolve, 20));
  return { deletes: onDelete.mock.calls.length, archives: onArchive.mock.calls.length };
}

describe("guardButton's default intent", () => {
  it('two buttons with neither id nor name are one action: the second joins the first, its handler does not run', async () => {
    expect(await clickBothWhileFirstPends('<button>Delete</button><button>Archive</button>')).toEqual({ deletes: 1, archives: 0 });
  });

  it('named by id, they are two actions: each handler runs', async () => {
    expect(await clickBothWhileFirstPends('<button id="delete">Delete</button><button id="archive">Archive</button>')).toEqual({ deletes: 1, archives: 1 });
  });
});
