// Build the app and serve dist/ on loopback, for benchmarks that drive a real browser.
import { build, preview, type PreviewServer } from "vite";

export async function serveBuiltApp(): Promise<{ url: string; server: PreviewServer }> {
  await build({ logLevel: "warn" });
  const server = await preview({ preview: { port: 0, host: "127.0.0.1" }, logLevel: "warn" });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error("The preview server did not report its address");
  return { url, server };
}
