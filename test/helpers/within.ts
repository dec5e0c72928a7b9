import type { Answer } from './post.js';

/** The answer, or 'no answer' once `ms` have passed: a hung request must fail the test, not time it out. */
export async function within(ms: number, answer: Promise<Answer>): Promise<Answer | 'no answer'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'no answer'>((resolve) => {
    timer = setTimeout(() => resolve('no answer'), ms);
  });
  try {
    return await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
  }
}
