// Serves the built app (dist/, made by `npm run build` before the e2e project runs) with
// Vite's preview server, which sends the cross-origin isolation headers of vite.config.ts.
import { existsSync } from "node:fs";
import { preview, type PreviewServer } from "vite";
import type { TestProject } from "vitest/node";

let server: PreviewServer | undefined;

export async function setup(project: TestProject) {
  if (!existsSync("dist/index.html")) throw new Error("dist/ is missing: run `npm run build` before the e2e tests");
  server = await preview({ preview: { port: 0, host: "127.0.0.1", strictPort: false }, logLevel: "warn" });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error("The preview server did not report its address");
  project.provide("baseURL", url);
}

export async function teardown() {
  await server?.close();
}

declare module "vitest" {
  export interface ProvidedContext {
    baseURL: string;
  }
}
