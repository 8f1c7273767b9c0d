#!/usr/bin/env node
// From the repository, the TypeScript sources run directly (Node >= 24 strips types). Installed from npm, the package
// sits under node_modules, where Node will not strip types: there the JavaScript that `npm run build` emitted runs.
const installed = import.meta.url.includes("/node_modules/");
await import(installed ? "../dist/cli/main.js" : "../src/cli/main.ts");
