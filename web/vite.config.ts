import { defineConfig } from 'vite';

// The build is embedded into the Go binary (embed.go), so it must be
// reproducible: no source maps, no build time stamps, content-hashed file
// names under assets/ (served with a long cache lifetime).
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    target: 'es2022',
    // bpmn-js and form-js are loaded on demand; each is one large chunk.
    chunkSizeWarningLimit: 1200,
  },
  server: {
    // `npm run dev` proxies the API to a local `baton serve`.
    proxy: {
      '/api': { target: process.env.BATON_SERVER || 'http://localhost:8080', changeOrigin: true },
      '/healthz': process.env.BATON_SERVER || 'http://localhost:8080',
    },
  },
});
