/** Bundles one entry to a single ES module string in memory, as a user's bundler would. */
import { build, type Rollup } from 'vite';

export async function bundleEntry(entry: string, options: { external?: RegExp } = {}): Promise<string> {
  const output = (await build({
    configFile: false,
    logLevel: 'silent',
    build: {
      write: false,
      minify: true,
      lib: { entry, formats: ['es'], fileName: 'entry' },
      ...(options.external ? { rollupOptions: { external: (id: string) => options.external!.test(id) } } : {}),
    },
  })) as Rollup.RollupOutput[];
  const chunks = output[0]!.output.filter((item): item is Rollup.OutputChunk => item.type === 'chunk');
  if (chunks.length === 0) throw new Error(`nothing bundled from ${entry}`);
  return chunks.map((chunk) => chunk.code).join('\n');
}
